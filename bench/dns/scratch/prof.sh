cd /work/main
D=$(mktemp -d)
bin/kplane apiserver --listen 127.0.0.1:0 --data-dir $D > /tmp/api.log 2>&1 &
A=$!
sleep 3
URL=http://$(grep -o '"addresses":\["[^"]*' /tmp/api.log | head -1 | sed 's/.*\["//')
rm -rf bench/dns/scratch/prof; mkdir -p bench/dns/scratch/prof
KPLANE_LOG_LEVEL=warn node_modules/.bin/node bin/main.ts dns --server $URL --listen 127.0.0.1:15300 --upstream 127.0.0.1:15399 --health-listen 127.0.0.1:0 --ready-listen 127.0.0.1:0 --metrics-listen 127.0.0.1:0 --workers ${W:-1} > /tmp/dns.log 2>&1 &
P=$!
sleep 2
dnsperf -s 127.0.0.1 -p 15300 -d bench/dns/scratch/q.txt -l 6 -c 8 -Q 1000000 -q ${Q:-200} 2>&1 | grep -E "lost|per second|Average Latency"
kill -INT $P; sleep 2; kill $A
ls -la bench/dns/scratch/prof
