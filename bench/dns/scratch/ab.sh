cd /work/main
D=$(mktemp -d)
bin/kplane apiserver --listen 127.0.0.1:0 --data-dir $D > /tmp/api2.log 2>&1 &
A=$!
sleep 3
URL=http://$(grep -ao '"addresses":\["[^"]*' /tmp/api2.log | head -1 | sed 's/.*\["//')
for round in 1 2; do
KPLANE_LOG_LEVEL=warn bin/kplane dns --server $URL --listen 127.0.0.1:15300 --upstream 127.0.0.1:15399 --health-listen 127.0.0.1:0 --ready-listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --workers ${W:-2} > /tmp/dns.log 2>&1 &
P=$!
sleep 2
echo -n "kplane: "; dnsperf -s 127.0.0.1 -p 15300 -d bench/dns/scratch/q.txt -l 5 -c 8 -Q 1000000 -q 200 2>&1 | grep -E "per second"
kill $P; sleep 1
node_modules/.bin/node bench/dns/scratch/srv.mjs 2 small & T=$!; sleep 1
echo -n "trivial: "; dnsperf -s 127.0.0.1 -p 15353 -d bench/dns/scratch/q.txt -l 5 -c 8 -Q 1000000 -q 200 2>&1 | grep -E "per second"
kill $T; sleep 1
done
kill $A
