cd /work/main/bench/dns/scratch
/work/main/node_modules/.bin/node srv.mjs $1 $2 & P=$!; sleep 1
dnsperf -s 127.0.0.1 -p 15353 -d q.txt -l 6 -c 8 -Q 1000000 -q 200 2>&1 | grep -E "per second"
kill $P; sleep 0.5
