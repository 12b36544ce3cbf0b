// lakecheck: DuckDB, an independent Parquet reader, looks at the files the
// lake function writes and prints what it sees as JSON, for the Go tests to
// assert on (and for people to read).
//
//   node lakecheck.mjs inspect [--lookup column=value]... FILE...
//       schema and DuckDB types, row counts, sort order by (log_group,
//       timestamp), per-column compression/encodings/statistics/bloom
//       filters, row-group statistics, key/value metadata; each lookup runs
//       the point query and asks parquet_bloom_probe and the row-group
//       statistics which row groups could hold the value.
//   node lakecheck.mjs query SQL
//       runs SQL and prints the rows.
//   node lakecheck.mjs copy INPUT.ndjson OUTPUT.parquet
//       DuckDB's own NDJSON -> zstd Parquet conversion on one thread, timed
//       (the benchmark's reference).
//
// Everything runs on one thread in an in-memory database.
import { DuckDBInstance } from '@duckdb/node-api';

function sqlString(s) {
  return "'" + String(s).replaceAll("'", "''") + "'";
}

function ident(s) {
  return '"' + String(s).replaceAll('"', '""') + '"';
}

async function rows(con, sql) {
  const reader = await con.runAndReadAll(sql);
  return reader.getRowObjectsJson();
}

function num(v) {
  return v === null || v === undefined ? null : Number(v);
}

function decodeBlob(v) {
  // BLOB values come back as strings with non-printable bytes escaped.
  return v === null || v === undefined ? null : String(v);
}

async function inspect(con, file, lookups) {
  const f = sqlString(file);
  const [meta] = await rows(con, `SELECT * FROM parquet_file_metadata(${f})`);
  const schema = (await rows(con, `SELECT name, type, logical_type, converted_type, repetition_type, duckdb_type
      FROM parquet_schema(${f}) WHERE num_children IS NULL OR num_children = 0 ORDER BY column_id`)).map((r) => ({
    name: r.name,
    type: r.type,
    logical_type: r.logical_type,
    converted_type: r.converted_type,
    repetition: r.repetition_type,
    duckdb_type: r.duckdb_type,
  }));
  const types = {};
  for (const r of await rows(con, `DESCRIBE SELECT * FROM read_parquet(${f})`)) {
    types[r.column_name] = r.column_type;
  }
  const [{ n }] = await rows(con, `SELECT count(*) AS n FROM read_parquet(${f})`);

  // Sort order: every row's (log_group, timestamp) is >= the previous row's.
  const [sorted] = await rows(con, `SELECT count(*) FILTER (WHERE pg > log_group OR (pg = log_group AND pt > "timestamp")) AS violations,
        count(*) FILTER (WHERE pg = log_group AND pt = "timestamp" AND pid > id) AS id_ties_out_of_order
      FROM (SELECT log_group, "timestamp", id,
              lag(log_group) OVER w AS pg, lag("timestamp") OVER w AS pt, lag(id) OVER w AS pid
            FROM read_parquet(${f}, file_row_number = true)
            WINDOW w AS (ORDER BY file_row_number))`);

  const md = await rows(con, `SELECT row_group_id, row_group_num_rows, row_group_bytes, row_group_compressed_bytes,
        path_in_schema, compression, encodings, stats_min_value, stats_max_value, stats_null_count,
        bloom_filter_offset, bloom_filter_length, total_compressed_size, total_uncompressed_size, num_values
      FROM parquet_metadata(${f}) ORDER BY row_group_id, column_id`);
  const columns = {};
  const groups = new Map();
  for (const r of md) {
    const c = (columns[r.path_in_schema] ??= {
      compression: new Set(),
      encodings: new Set(),
      bloom_filter_row_groups: 0,
      stats_row_groups: 0,
      row_groups: 0,
      compressed_bytes: 0,
      uncompressed_bytes: 0,
    });
    c.row_groups++;
    c.compression.add(r.compression);
    for (const e of String(r.encodings).split(',')) c.encodings.add(e.trim());
    if (r.bloom_filter_offset !== null && num(r.bloom_filter_length) > 0) c.bloom_filter_row_groups++;
    if (r.stats_min_value !== null && r.stats_max_value !== null) c.stats_row_groups++;
    c.compressed_bytes += num(r.total_compressed_size);
    c.uncompressed_bytes += num(r.total_uncompressed_size);
    const id = num(r.row_group_id);
    const g = groups.get(id) ?? { id, rows: num(r.row_group_num_rows), bytes: num(r.row_group_bytes), compressed_bytes: num(r.row_group_compressed_bytes), min: {}, max: {} };
    g.min[r.path_in_schema] = r.stats_min_value;
    g.max[r.path_in_schema] = r.stats_max_value;
    groups.set(id, g);
  }
  for (const c of Object.values(columns)) {
    c.compression = [...c.compression].sort();
    c.encodings = [...c.encodings].sort();
  }
  const kv = {};
  for (const r of await rows(con, `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${f})`)) {
    kv[decodeBlob(r.k)] = decodeBlob(r.v);
  }

  const out = {
    path: file,
    created_by: meta.created_by,
    num_rows: num(meta.num_rows),
    rows: num(n),
    file_size_bytes: num(meta.file_size_bytes),
    num_row_groups: num(meta.num_row_groups),
    schema,
    types,
    sort: { violations: num(sorted.violations), id_ties_out_of_order: num(sorted.id_ties_out_of_order) },
    columns,
    row_groups: [...groups.values()],
    kv,
    lookups: [],
  };

  for (const { column, value } of lookups) {
    const [{ hits }] = await rows(con, `SELECT count(*) AS hits FROM read_parquet(${f}) WHERE ${ident(column)} = ${sqlString(value)}`);
    const probe = await rows(con, `SELECT row_group_id, bloom_filter_excludes FROM parquet_bloom_probe(${f}, ${sqlString(column)}, ${sqlString(value)}) ORDER BY row_group_id`);
    // Row groups whose min/max statistics admit the value (string order).
    const stats = await rows(con, `SELECT row_group_id FROM parquet_metadata(${f})
        WHERE path_in_schema = ${sqlString(column)} AND (stats_min_value IS NULL OR stats_max_value IS NULL
          OR (${sqlString(value)} >= stats_min_value AND ${sqlString(value)} <= stats_max_value))
        ORDER BY row_group_id`);
    const bloomCandidates = probe.filter((r) => !r.bloom_filter_excludes).map((r) => num(r.row_group_id));
    const statsCandidates = new Set(stats.map((r) => num(r.row_group_id)));
    out.lookups.push({
      column,
      value,
      rows: num(hits),
      row_groups: out.num_row_groups,
      bloom_candidates: bloomCandidates,
      stats_candidates: [...statsCandidates],
      // what a reader using both must still read
      read_row_groups: bloomCandidates.filter((id) => statsCandidates.has(id)),
    });
  }
  return out;
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
  const con = await instance.connect();
  switch (cmd) {
    case 'inspect': {
      const lookups = [];
      const files = [];
      for (let i = 0; i < args.length; i++) {
        if (args[i] === '--lookup') {
          const spec = args[++i] ?? '';
          const eq = spec.indexOf('=');
          if (eq < 1) throw new Error(`--lookup wants column=value, got ${JSON.stringify(spec)}`);
          lookups.push({ column: spec.slice(0, eq), value: spec.slice(eq + 1) });
        } else {
          files.push(args[i]);
        }
      }
      if (files.length === 0) throw new Error('inspect: no files');
      const out = [];
      for (const file of files) out.push(await inspect(con, file, lookups));
      process.stdout.write(JSON.stringify({ duckdb: (await rows(con, 'SELECT version() AS v'))[0].v, files: out }) + '\n');
      break;
    }
    case 'query': {
      if (args.length !== 1) throw new Error('query: want one SQL argument');
      process.stdout.write(JSON.stringify(await rows(con, args[0])) + '\n');
      break;
    }
    case 'copy': {
      if (args.length !== 2) throw new Error('copy: want INPUT.ndjson OUTPUT.parquet');
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await con.run(`COPY (SELECT * FROM read_json(${sqlString(args[0])})) TO ${sqlString(args[1])} (FORMAT parquet, COMPRESSION zstd)`);
      const seconds = (performance.now() - t0) / 1000;
      const cpu = process.cpuUsage(cpu0);
      const [{ size }] = await rows(con, `SELECT file_size_bytes AS size FROM parquet_file_metadata(${sqlString(args[1])})`);
      process.stdout.write(JSON.stringify({
        duckdb: (await rows(con, 'SELECT version() AS v'))[0].v,
        seconds,
        cpu_seconds: (cpu.user + cpu.system) / 1e6,
        output_bytes: num(size),
        max_rss_bytes: process.resourceUsage().maxRSS * 1024,
      }) + '\n');
      break;
    }
    default:
      throw new Error('usage: lakecheck.mjs inspect|query|copy ...');
  }
}

main().catch((err) => {
  process.stderr.write(`lakecheck: ${err.message}\n`);
  process.exit(1);
});
