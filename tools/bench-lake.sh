#!/usr/bin/env bash
# Lake benchmarks on the shared workload, all in one run so the comparisons hold on a busy machine:
#   - our NDJSON -> Parquet conversion on one core (GOMAXPROCS=1): MB/s wall-clock and per CPU second,
#     output size as a share of the NDJSON;
#   - DuckDB's own COPY (SELECT * FROM read_json(...)) TO ... (FORMAT parquet, COMPRESSION zstd) on one
#     thread, same file (tools/duckdb, @duckdb/node-api pinned);
#   - gzip -6 of the same file: size and speed;
#   - peak RSS of the built lake bootstrap, run through the local Lambda Runtime API against moto's S3,
#     converting the 200 MiB workload and a LAKE_BENCH_LARGE_MB object (default 1024; 0 skips it) as a
#     512 MB function.
# It ends with the issue's goals: output no larger than DuckDB's, throughput at least half of DuckDB's,
# peak RSS at most 256 MiB.
#
# Usage: tools/bench-lake.sh [WORKLOAD_DIR]   (default $TRIBUTARY_WORKLOAD, else .workload; `make bench`
# generates it from ../shared/workload). Without the workload it says so and exits 0.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
wl=${1:-${TRIBUTARY_WORKLOAD:-$root/.workload}}
wl=$(cd "$wl" 2>/dev/null && pwd || echo "$wl")
in=$wl/events-200.ndjson
large_mb=${LAKE_BENCH_LARGE_MB:-1024}
if [ ! -f "$in" ]; then
  echo "bench-lake: $in is absent (make bench generates it from ../shared/workload); skipping the lake benchmarks"
  exit 0
fi
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
size=$(stat -c %s "$in")
echo "bench-lake: $in ($((size / 1048576)) MiB), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. Go benchmarks: ours (flattened and normalized input) and DuckDB's, same process tree, same minute.
TRIBUTARY_WORKLOAD=$wl GOMAXPROCS=1 go test -run '^$' \
  -bench '^(BenchmarkConvertWorkload|BenchmarkDuckDBCopyWorkload|BenchmarkConvertWorkloadNormalized|BenchmarkDuckDBCopyWorkloadNormalized)$' \
  -benchmem -count 1 ./shared/lake | tee "$tmp/bench.txt"

# metric BENCH UNIT: the value before UNIT on BENCH's line
metric() { awk -v b="$1" -v u="$2" '$1 ~ "^"b"(-[0-9]+)?$" { for (i = 2; i <= NF; i++) if ($i == u) print $(i-1) }' "$tmp/bench.txt"; }

# 2. gzip -6, as Firehose's GZIP would.
gz=$( { /usr/bin/time -f '%e %U %S' gzip -6 -c "$in" > "$tmp/x.gz"; } 2>&1 | tail -1)
gz_size=$(stat -c %s "$tmp/x.gz")
read -r gz_wall gz_user gz_sys <<<"$gz"

# 3. DuckDB's peak RSS for the same COPY (the Go benchmark reports its speed).
duck_rss=$( { /usr/bin/time -f '%M' node tools/duckdb/lakecheck.mjs copy "$in" "$tmp/duck.parquet" > /dev/null; } 2>&1 | tail -1)

# 4. The real bootstrap: peak RSS as a 512 MB function, 200 MiB and a large object.
rss_line() {
  LAKE_LARGE_MB=$1 TRIBUTARY_WORKLOAD=$wl go test -count=1 -timeout 40m -run '^TestBootstrapLargeObject$' -v ./shared/lake \
    | awk '/^LAKE_LARGE_RESULT /{ sub(/^LAKE_LARGE_RESULT /, ""); print }'
}
boot200=$(rss_line 200)
bootlarge='{}'
if [ "$large_mb" -gt 0 ]; then bootlarge=$(rss_line "$large_mb"); fi

python3 - "$tmp/bench.txt" "$size" "$gz_size" "$gz_wall" "$gz_user" "$gz_sys" "$duck_rss" "$boot200" "$bootlarge" <<'EOF'
import json, re, sys
bench, size, gz_size, gz_wall, gz_user, gz_sys, duck_rss, boot200, bootlarge = sys.argv[1:]
size, gz_size = int(size), int(gz_size)
m = {}
for line in open(bench):
    f = line.split()
    if not f or not f[0].startswith("Benchmark"):
        continue
    name = re.sub(r"-\d+$", "", f[0])
    m[name] = {f[i]: float(f[i - 1]) for i in range(3, len(f)) if not re.match(r"^[\d.]+$", f[i])}
ours, duck, norm = m.get("BenchmarkConvertWorkload", {}), m.get("BenchmarkDuckDBCopyWorkload", {}), m.get("BenchmarkConvertWorkloadNormalized", {})
duckn = m.get("BenchmarkDuckDBCopyWorkloadNormalized", {})
b200, blarge = json.loads(boot200 or "{}"), json.loads(bootlarge or "{}")
mb = size / 1e6
print()
print("lake benchmark summary (MB = 10^6 bytes; CPU = user+system seconds)")
print(f"  input                      {size/2**20:8.1f} MiB NDJSON")
if ours:
    print(f"  tributary lake (1 core)    {ours['MB/s']:8.1f} MB/s wall  {ours['cpu-MB/s']:8.1f} MB/s per CPU-s  output {ours['out-%']:5.2f}%")
if norm:
    print(f"  same, normalized records   {norm['MB/s']:8.1f} MB/s wall  {norm['cpu-MB/s']:8.1f} MB/s per CPU-s  output {norm['out-%']:5.2f}% (of its larger input)")
if duck:
    print(f"  DuckDB COPY (1 thread)     {duck['duckdb-MB/s']:8.1f} MB/s wall  {duck['duckdb-cpu-MB/s']:8.1f} MB/s per CPU-s  output {duck['out-%']:5.2f}%  RSS {int(duck_rss)/1024:.0f} MiB")
if duckn:
    print(f"  same, normalized records   {duckn['duckdb-MB/s']:8.1f} MB/s wall  {duckn['duckdb-cpu-MB/s']:8.1f} MB/s per CPU-s  output {duckn['out-%']:5.2f}%")
cpu = float(gz_user) + float(gz_sys)
print(f"  gzip -6                    {mb/float(gz_wall):8.1f} MB/s wall  {mb/cpu:8.1f} MB/s per CPU-s  output {100*gz_size/size:5.2f}%")
if b200:
    print(f"  lake bootstrap, {b200['input_mib']:.0f} MiB gz object: peak RSS {b200['max_rss_mib']:.0f} MiB, {b200['seconds']:.1f} s, {b200['rows']} rows")
if blarge:
    print(f"  lake bootstrap, {blarge['input_mib']:.0f} MiB gz object: peak RSS {blarge['max_rss_mib']:.0f} MiB of {blarge['memory_size_mb']} MB, {blarge['seconds']:.1f} s, {blarge['rows']} rows")
print()
ok = True
def goal(text, good):
    global ok
    ok &= good
    print(f"  goal: {text:60s} {'met' if good else 'MISSED'}")
if ours and duck:
    goal(f"output no larger than DuckDB's ({ours['out-%']:.2f}% vs {duck['out-%']:.2f}%)", ours['out-%'] <= duck['out-%'])
    goal(f"throughput >= 1/2 DuckDB's, per CPU-s ({ours['cpu-MB/s']/duck['duckdb-cpu-MB/s']:.2f})", ours['cpu-MB/s'] >= duck['duckdb-cpu-MB/s'] / 2)
    goal(f"throughput >= 1/2 DuckDB's, wall-clock ({ours['MB/s']/duck['duckdb-MB/s']:.2f})", ours['MB/s'] >= duck['duckdb-MB/s'] / 2)
if b200:
    goal(f"peak RSS <= 256 MiB on the workload ({b200['max_rss_mib']:.0f} MiB)", b200['max_rss_mib'] <= 256)
if blarge:
    goal(f"{blarge['input_mib']:.0f} MiB converts in a {blarge['memory_size_mb']} MB function ({blarge['max_rss_mib']:.0f} MiB)", blarge['max_rss_mib'] <= blarge['memory_size_mb'])
EOF
