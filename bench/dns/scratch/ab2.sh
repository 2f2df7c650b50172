cd /work/main/bench/dns/scratch
for round in 1 2 3; do
for mode in slow fast; do
/work/main/node_modules/.bin/node srv.mjs 2 small $mode & T=$!; sleep 1
echo -n "$mode: "; dnsperf -s 127.0.0.1 -p 15353 -d q.txt -l 4 -c 8 -Q 1000000 -q 200 2>&1 | grep -E "per second"
kill $T; sleep 0.5
done; done
