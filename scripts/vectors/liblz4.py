"""LZ4 blocks through liblz4, the reference LZ4 library (Python's `lz4`
package, pinned in scripts/requirements.txt), for the vector generator:
    liblz4.py compress < data > block
    liblz4.py decompress SIZE < block > data   (exit 1 if liblz4 refuses it)
"""

import sys

import lz4.block

op = sys.argv[1]
data = sys.stdin.buffer.read()
if op == "compress":
    out = lz4.block.compress(data, mode="default", store_size=False)
elif op == "decompress":
    try:
        out = lz4.block.decompress(data, uncompressed_size=int(sys.argv[2]))
    except lz4.block.LZ4BlockError as error:
        sys.stderr.write(f"liblz4: {error}\n")
        sys.exit(1)
else:
    sys.exit(f"unknown op {op}")
sys.stdout.buffer.write(out)
