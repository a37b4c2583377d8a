// The loader test suite: one file, run unchanged in Node (vitest and plain
// node), headless Chromium, Deno, Bun, workerd and bundler output. It only
// uses web-platform APIs so every runtime can load it.

const te = new TextEncoder();

function assert(condition, message) {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}

function sameBytes(a, b, what) {
  assert(a instanceof Uint8Array && b instanceof Uint8Array, `${what}: both are Uint8Array`);
  assert(a.length === b.length, `${what}: length ${a.length} === ${b.length}`);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`assertion failed: ${what}: byte ${i} differs`);
}

function expectCode(codec, fn, code, what) {
  try {
    fn();
  } catch (e) {
    assert(e instanceof codec.CodecError, `${what}: throws CodecError (got ${e})`);
    assert(e instanceof Error, `${what}: CodecError is an Error`);
    assert(e.code === code, `${what}: code ${e.code} === ${code}`);
    return;
  }
  throw new Error(`assertion failed: ${what}: expected CodecError ${code}`);
}

function logRecords(n) {
  return Array.from({ length: n }, (_, i) => ({
    key: i % 4 === 0 ? null : te.encode(`user-${i % 10}`),
    value: te.encode(JSON.stringify({ i, level: "info", msg: "request handled", path: `/items/${i}` })),
    headers: [{ key: "trace-é", value: te.encode(`t${i}`) }, { key: "empty", value: null }],
    timestamp: 1_700_000_000_000 + i,
    typeId: i % 3,
  }));
}

/**
 * The cases, in order. `options.init` instantiates the module the way the
 * runtime under test should (e.g. `() => codec.init()`).
 */
export function loaderCases(codec, options) {
  return [
    [
      "NOT_INITIALIZED: every function throws before init",
      () => {
        const b = new Uint8Array(1);
        expectCode(codec, () => codec.crc32c(b), "NOT_INITIALIZED", "crc32c");
        expectCode(codec, () => codec.murmur2(b), "NOT_INITIALIZED", "murmur2");
        expectCode(codec, () => codec.compress("lz4", b), "NOT_INITIALIZED", "compress");
        expectCode(codec, () => codec.encodeBatch([{ value: null }]), "NOT_INITIALIZED", "encodeBatch");
        expectCode(codec, () => codec.decodeBatch(b), "NOT_INITIALIZED", "decodeBatch");
        expectCode(codec, () => codec.readBatchHeader(b), "NOT_INITIALIZED", "readBatchHeader");
        expectCode(codec, () => codec.splitBatches(b), "NOT_INITIALIZED", "splitBatches");
        expectCode(codec, () => new codec.FrameDecoder(), "NOT_INITIALIZED", "FrameDecoder");
        expectCode(codec, () => codec.encodeFrame({ kind: 1, correlationId: 1, message: b }), "NOT_INITIALIZED", "encodeFrame");
      },
    ],
    [
      "init: instantiates once, idempotent and concurrent-safe",
      async () => {
        await Promise.all([options.init(), options.init()]);
        await options.init();
        await codec.init();
        codec.initSync();
      },
    ],
    [
      "PW-FRAME-004: crc32c is CRC-32C",
      () => {
        assert(codec.crc32c(te.encode("123456789")) === 0xe3069283, "check value");
        assert(codec.crc32c(te.encode("6789"), codec.crc32c(te.encode("12345"))) === 0xe3069283, "continued");
      },
    ],
    [
      "PW-PART-002: murmur2 and partitionForKey match Kafka",
      () => {
        assert(codec.murmur2(te.encode("foobar")) === -790332482, "murmur2(foobar)");
        assert(codec.murmur2(te.encode("21")) === -973932308, "murmur2(21)");
        assert(codec.partitionForKey(te.encode("foobar"), 10) === (-790332482 & 0x7fffffff) % 10, "partition");
      },
    ],
    [
      "PW-COMP-001..005: every codec round-trips",
      () => {
        const data = te.encode(JSON.stringify(logRecords(200)));
        for (const c of ["none", "gzip", "snappy", "lz4", "zstd"]) {
          const packed = codec.compress(c, data);
          assert(c === "none" || packed.length < data.length, `${c} shrinks JSON`);
          sameBytes(codec.decompress(c, packed, { uncompressedSize: data.length }), data, c);
        }
      },
    ],
    [
      "PW-COMP-006: a decompression bomb is DECOMPRESSION_LIMIT",
      () => {
        const bomb = codec.compress("zstd", new Uint8Array(1 << 20));
        expectCode(codec, () => codec.decompress("zstd", bomb, { uncompressedSize: 1 << 20, maxSize: 1 << 19 }), "DECOMPRESSION_LIMIT", "bomb");
        expectCode(codec, () => codec.decompress("zstd", bomb, { uncompressedSize: 100 }), "CORRUPT_BATCH", "overrun");
      },
    ],
    [
      "PW-BATCH-001..013: batches round-trip with every codec, one call per batch",
      () => {
        const records = logRecords(100);
        for (const c of ["none", "gzip", "snappy", "lz4", "zstd"]) {
          const batch = codec.encodeBatch(records, { compression: c, baseOffset: 40n });
          const header = codec.verifyBatch(batch);
          assert(header.compression === c && header.recordCount === 100, `${c} header`);
          const { records: out } = codec.decodeBatch(batch);
          assert(out.length === 100 && out[99].offset === 139n, `${c} offsets`);
          for (let i = 0; i < 100; i++) {
            const r = records[i];
            const o = out[i];
            assert(o.timestamp === r.timestamp && o.typeId === r.typeId, `${c} record ${i} fields`);
            if (r.key === null) assert(o.key === null, `${c} null key ${i}`);
            else sameBytes(o.key, r.key, `${c} key ${i}`);
            sameBytes(o.value, r.value, `${c} value ${i}`);
            assert(o.headers.length === 2 && o.headers[0].key === "trace-é" && o.headers[1].value === null, `${c} headers ${i}`);
          }
          codec.setBaseOffset(batch, 7n);
          assert(codec.readBatchHeader(batch).baseOffset === 7n, "setBaseOffset");
          const split = codec.splitBatches(new Uint8Array([...batch, ...batch]));
          assert(split.length === 2 && split[1].length === batch.length, "splitBatches");
        }
        const bad = codec.encodeBatch(records);
        bad[bad.length - 1] ^= 1;
        expectCode(codec, () => codec.decodeBatch(bad), "CORRUPT_BATCH", "crc");
      },
    ],
    [
      "PW-FRAME-001/006: frames decode the same byte by byte; oversize is rejected early",
      () => {
        const frames = [1, 2, 3].map((k) => codec.encodeFrame({ kind: k, correlationId: 2 * k + 1, message: te.encode(`m${k}`), payload: new Uint8Array(300 * k).fill(k), checksum: k % 2 === 1 }));
        const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
        let o = 0;
        for (const f of frames) {
          stream.set(f, o);
          o += f.length;
        }
        const d = new codec.FrameDecoder();
        const out = [];
        for (let i = 0; i < stream.length; i++) out.push(...d.push(stream.subarray(i, i + 1)));
        assert(out.length === 3 && d.buffered === 0, "three frames");
        for (let k = 1; k <= 3; k++) {
          const f = out[k - 1];
          assert(f.kind === k && f.correlationId === 2 * k + 1 && f.flags === (k % 2), `frame ${k}`);
          sameBytes(f.message, te.encode(`m${k}`), `message ${k}`);
          sameBytes(f.payload, new Uint8Array(300 * k).fill(k), `payload ${k}`);
        }
        d.free();
        const small = new codec.FrameDecoder({ maxFrameSize: 64 });
        expectCode(codec, () => small.push(new Uint8Array([0, 0, 1, 0])), "FRAME_TOO_LARGE", "oversize");
      },
    ],
    [
      "decodeBatch copy:false gives views into wasm memory",
      () => {
        const batch = codec.encodeBatch(logRecords(3), { compression: "lz4", minCompressSize: 0 });
        const views = codec.decodeBatch(batch, { copy: false }).records;
        assert(views[1].value.buffer !== batch.buffer, "not the input buffer");
        sameBytes(views[1].value, logRecords(3)[1].value, "view content");
      },
    ],
  ];
}

/** Runs the cases in order; returns one result per case, never throws. */
export async function runLoaderSuite(codec, options) {
  const results = [];
  for (const [name, fn] of loaderCases(codec, options)) {
    try {
      await fn();
      results.push({ name, ok: true });
    } catch (e) {
      results.push({ name, ok: false, error: String(e && e.stack ? e.stack : e) });
    }
  }
  return results;
}
