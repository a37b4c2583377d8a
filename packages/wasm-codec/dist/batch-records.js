import { DECODE_HEAD_WORDS, DECODE_RECORD_COUNT, DECODE_SECTION_ADDR, DECODE_SECTION_LEN, HEADER_KEY_ADDR, HEADER_KEY_LEN, HEADER_VALUE_ADDR, HEADER_VALUE_LEN, HEADER_WORDS, NULL_LEN, RECORD_HEADER_COUNT, RECORD_KEY_ADDR, RECORD_KEY_LEN, RECORD_TIMESTAMP_HI, RECORD_TIMESTAMP_LO, RECORD_TYPE_ID_HI, RECORD_TYPE_ID_LO, RECORD_VALUE_ADDR, RECORD_VALUE_LEN, RECORD_WORDS, wideAt, } from "./abi.js";
import { readBatchHeader } from "./batch-header.js";
import { maxSizeOf } from "./batch.js";
import { invalid, requireBytes } from "./errors.js";
import { check, failed, memory, reserveInput, table, wasm, writeInput } from "./wasm.js";
const utf8Decoder = new TextDecoder();
// Header keys are short and usually ASCII: decoding them by hand avoids a
// TextDecoder call per header, which dominates small records.
function decodeKey(mem, ptr, len) {
    if (len <= 32) {
        let s = "";
        for (let i = ptr; i < ptr + len; i++) {
            const c = mem[i];
            if (c >= 0x80)
                return utf8Decoder.decode(mem.subarray(ptr, ptr + len));
            s += String.fromCharCode(c);
        }
        return s;
    }
    return utf8Decoder.decode(mem.subarray(ptr, ptr + len));
}
/**
 * The records of one batch, decoded and validated in a single call into
 * WASM (see {@link openBatch}) but materialised only when asked for: each
 * accessor takes the record's index (0 .. `count` - 1) and builds just
 * that field, so a reader that looks at values only never pays for
 * offsets, keys or headers. Key and value bytes are views: into the batch
 * given to `openBatch` when it is uncompressed, else into one copy of the
 * decompressed records section. An index outside 0 .. `count` - 1 throws
 * INVALID_ARGUMENT.
 */
export class BatchRecords {
    /** The batch header. */
    header;
    /** How many records the batch holds. */
    count;
    // The decode table past its leading words: RECORD_WORDS per record, then HEADER_WORDS per header.
    #table;
    // Where each record starts in the table; null when no record has headers (RECORD_WORDS each).
    #starts;
    #buffer;
    // Added to a WASM address to get the position in #buffer.
    #shift;
    #bytes;
    /** @internal Use {@link openBatch}. */
    constructor(header, table, buffer, shift) {
        this.header = header;
        this.count = header.recordCount;
        this.#table = table;
        this.#buffer = buffer;
        this.#shift = shift;
        if (table.length === RECORD_WORDS * this.count) {
            this.#starts = null;
        }
        else {
            const starts = new Uint32Array(this.count);
            for (let n = 0, i = 0; n < this.count; n++) {
                starts[n] = i;
                i += RECORD_WORDS + HEADER_WORDS * table[i + RECORD_HEADER_COUNT];
            }
            this.#starts = starts;
        }
    }
    #at(index) {
        if (!(index >= 0 && index < this.count && Number.isInteger(index)))
            invalid(`record index ${String(index)} is outside 0..${this.count - 1}`);
        return this.#starts === null ? RECORD_WORDS * index : this.#starts[index];
    }
    #bytesAt(ptr, len) {
        // The constructor is markedly faster than subarray() (no species lookup).
        return len === NULL_LEN ? null : new Uint8Array(this.#buffer, ptr + this.#shift, len);
    }
    /** The offset of record `index`: `header.baseOffset + index`. */
    offset(index) {
        this.#at(index);
        return this.header.baseOffset + BigInt(index);
    }
    /** The timestamp of record `index`, Unix ms. */
    timestamp(index) {
        const i = this.#at(index);
        return wideAt(this.#table, i + RECORD_TIMESTAMP_LO, i + RECORD_TIMESTAMP_HI);
    }
    /** The message type id of record `index` (PW-BATCH-014). */
    typeId(index) {
        const i = this.#at(index);
        return wideAt(this.#table, i + RECORD_TYPE_ID_LO, i + RECORD_TYPE_ID_HI);
    }
    /** The key of record `index`, or null (PW-BATCH-013). */
    key(index) {
        const i = this.#at(index);
        return this.#bytesAt(this.#table[i + RECORD_KEY_ADDR], this.#table[i + RECORD_KEY_LEN]);
    }
    /** The value of record `index`, or null (PW-BATCH-013). */
    value(index) {
        const i = this.#at(index);
        return this.#bytesAt(this.#table[i + RECORD_VALUE_ADDR], this.#table[i + RECORD_VALUE_LEN]);
    }
    /** The headers of record `index`, in order; a new array on every call. */
    headers(index) {
        let i = this.#at(index);
        const t = this.#table;
        const count = t[i + RECORD_HEADER_COUNT];
        i += RECORD_WORDS;
        const headers = [];
        if (count === 0)
            return headers;
        this.#bytes ??= new Uint8Array(this.#buffer);
        for (let h = 0; h < count; h++, i += HEADER_WORDS) {
            headers.push({
                key: decodeKey(this.#bytes, t[i + HEADER_KEY_ADDR] + this.#shift, t[i + HEADER_KEY_LEN]),
                value: this.#bytesAt(t[i + HEADER_VALUE_ADDR], t[i + HEADER_VALUE_LEN]),
            });
        }
        return headers;
    }
    /** Record `index` with every field built. */
    record(index) {
        return {
            offset: this.offset(index),
            timestamp: this.timestamp(index),
            key: this.key(index),
            value: this.value(index),
            headers: this.headers(index),
            typeId: this.typeId(index),
        };
    }
}
/**
 * Decodes and validates one batch like {@link decodeBatch} (one call into
 * WASM, CRC checked unless `verifyCrc: false`), but builds no record:
 * the {@link BatchRecords} it returns materialises fields on access. An
 * uncompressed batch is not copied (keys and values are views into
 * `batch`, so they change if `batch` does); a compressed one is
 * decompressed into one copy owned by the result.
 */
export function openBatch(batch, options = {}) {
    const w = wasm();
    requireBytes(batch, "batch");
    try {
        const inputPtr = reserveInput(batch.length);
        memory().set(batch, inputPtr);
        check(w.pw_decode_batch(batch.length, maxSizeOf(options.maxUncompressedSize), options.verifyCrc === false ? 0 : 1));
        const header = readBatchHeader(batch);
        const t = table();
        const sectionPtr = t[DECODE_SECTION_ADDR];
        const sectionLen = t[DECODE_SECTION_LEN];
        const records = t.slice(DECODE_HEAD_WORDS);
        if (sectionPtr >= inputPtr && sectionPtr + sectionLen <= inputPtr + batch.length) {
            // Uncompressed: the section is the batch's own bytes.
            return new BatchRecords(header, records, batch.buffer, batch.byteOffset - inputPtr);
        }
        const section = memory().slice(sectionPtr, sectionPtr + sectionLen);
        return new BatchRecords(header, records, section.buffer, -sectionPtr);
    }
    catch (error) {
        return failed(error, "openBatch");
    }
}
/**
 * Decodes one batch in a single call into WASM, with the validation of
 * `verifyBatch` (the CRC check can be skipped with `verifyCrc: false`).
 * With `copy: true` (default) the records' bytes are copied out of WASM
 * memory, once per batch; with `copy: false` keys and values are views into
 * WASM memory, valid only until the next codec call.
 */
export function decodeBatch(batch, options = {}) {
    const w = wasm();
    requireBytes(batch, "batch");
    try {
        check(w.pw_decode_batch(writeInput(batch), maxSizeOf(options.maxUncompressedSize), options.verifyCrc === false ? 0 : 1));
        const header = readBatchHeader(batch);
        const t = table();
        const mem = memory();
        const count = t[DECODE_RECORD_COUNT];
        const sectionPtr = t[DECODE_SECTION_ADDR];
        // One copy of the whole records section; records are views into it.
        const source = options.copy === false ? mem : mem.slice(sectionPtr, sectionPtr + t[DECODE_SECTION_LEN]);
        const buffer = source.buffer;
        const shift = options.copy === false ? 0 : -sectionPtr;
        // The constructor is markedly faster than subarray() (no species lookup).
        const bytesAt = (ptr, len) => (len === NULL_LEN ? null : new Uint8Array(buffer, ptr + shift, len));
        const records = new Array(count);
        let i = DECODE_HEAD_WORDS;
        for (let n = 0; n < count; n++) {
            const timestamp = wideAt(t, i + RECORD_TIMESTAMP_LO, i + RECORD_TIMESTAMP_HI);
            const typeId = wideAt(t, i + RECORD_TYPE_ID_LO, i + RECORD_TYPE_ID_HI);
            const key = bytesAt(t[i + RECORD_KEY_ADDR], t[i + RECORD_KEY_LEN]);
            const value = bytesAt(t[i + RECORD_VALUE_ADDR], t[i + RECORD_VALUE_LEN]);
            const headerCount = t[i + RECORD_HEADER_COUNT];
            i += RECORD_WORDS;
            const headers = [];
            for (let h = 0; h < headerCount; h++) {
                headers.push({ key: decodeKey(mem, t[i + HEADER_KEY_ADDR], t[i + HEADER_KEY_LEN]), value: bytesAt(t[i + HEADER_VALUE_ADDR], t[i + HEADER_VALUE_LEN]) });
                i += HEADER_WORDS;
            }
            records[n] = { offset: header.baseOffset + BigInt(n), timestamp, key, value, headers, typeId };
        }
        return { header, records };
    }
    catch (error) {
        return failed(error, "decodeBatch");
    }
}
//# sourceMappingURL=batch-records.js.map