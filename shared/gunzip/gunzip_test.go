package gunzip

import (
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// reference is what klauspost/compress's streaming reader makes of src,
// the decoder callers fall back to.
func reference(src []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

func compress(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

func compressStdlib(t testing.TB, data []byte, level int, h stdgzip.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := stdgzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Header = h
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

// inputs are contents with different DEFLATE shapes: literals only, long
// and short matches, overlapping runs, incompressible bytes.
func inputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 200_000)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	var logs strings.Builder
	levels := []string{"INFO", "WARN", "ERROR", "DEBUG"}
	for i := range 5000 {
		fmt.Fprintf(&logs, `{"time":"2026-11-22T08:%02d:%02d.%03dZ","level":"%s","msg":"request %d done","latency_ms":%d,"path":"/api/v1/items/%d"}`+"\n",
			i/60%60, i%60, i%1000, levels[rng.IntN(4)], rng.IntN(1e6), rng.IntN(900), rng.IntN(1e4))
	}
	mixed := make([]byte, 0, 300_000)
	for len(mixed) < 300_000 {
		switch rng.IntN(4) {
		case 0:
			mixed = append(mixed, random[:rng.IntN(300)]...)
		case 1:
			mixed = append(mixed, bytes.Repeat([]byte{byte(rng.IntN(256))}, rng.IntN(400))...)
		case 2:
			mixed = append(mixed, bytes.Repeat([]byte("ab c"), rng.IntN(100))...)
		default:
			if len(mixed) > 40_000 {
				start := rng.IntN(len(mixed) - 300)
				mixed = append(mixed, mixed[start:start+rng.IntN(300)]...)
			}
		}
	}
	return map[string][]byte{
		"empty":      {},
		"one byte":   {'x'},
		"short text": []byte("hello, hello, hello world\n"),
		"run":        bytes.Repeat([]byte{'a'}, 100_000),
		"two-byte":   bytes.Repeat([]byte("ab"), 50_000),
		"seven-byte": bytes.Repeat([]byte("abcdefg"), 20_000),
		"random":     random,
		"logs":       []byte(logs.String()),
		"mixed":      mixed,
		"korean":     []byte(strings.Repeat("주민등록번호 로그 메시지 처리 완료 ", 3000)),
	}
}

func TestAppendMatchesReference(t *testing.T) {
	var z Inflater
	for name, data := range inputs() {
		for _, level := range []int{gzip.HuffmanOnly, gzip.NoCompression, gzip.BestSpeed, 2, 5, gzip.DefaultCompression, gzip.BestCompression} {
			src := compress(t, data, level)
			got, err := z.Append([]byte("prefix:"), src, 1<<30)
			if err != nil {
				t.Fatalf("%s at level %d: %v", name, level, err)
			}
			if !bytes.Equal(got, append([]byte("prefix:"), data...)) {
				t.Fatalf("%s at level %d: output differs from the input", name, level)
			}
		}
		for _, level := range []int{stdgzip.HuffmanOnly, stdgzip.BestSpeed, stdgzip.DefaultCompression, stdgzip.BestCompression} {
			src := compressStdlib(t, data, level, stdgzip.Header{Name: "app.log", Comment: "rotated", Extra: []byte{'T', 'R', 2, 0, 1, 2}})
			got, err := z.Append(nil, src, 1<<30)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s at compress/gzip level %d with header fields: err %v, equal %v", name, level, err, bytes.Equal(got, data))
			}
		}
	}
}

func TestConcatenatedMembers(t *testing.T) {
	var z Inflater
	a, b := []byte(strings.Repeat("first member ", 1000)), []byte("second")
	src := append(compress(t, a, 6), compress(t, b, 1)...)
	src = append(src, compress(t, nil, 6)...)
	got, err := z.Append(nil, src, 1<<20)
	if err != nil || string(got) != string(a)+string(b) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	want, _ := reference(src)
	if !bytes.Equal(got, want) {
		t.Fatal("differs from the streaming reader")
	}
}

// A back-reference may not reach into the previous member's output.
func TestDistanceDoesNotCrossMembers(t *testing.T) {
	var z Inflater
	first := compress(t, []byte("abcdefgh"), 0)
	// A fixed-Huffman member whose only symbol pair copies from 8 back.
	var bw bitWriter
	bw.write(1, 1)             // final
	bw.write(1, 2)             // fixed Huffman
	bw.writeCode(0b0000010, 7) // length symbol 258: length 4
	bw.writeCode(0b00101, 5)   // distance symbol 5: 7 or 8, one extra bit
	bw.write(1, 1)             // 8: the first member's "abcd"
	bw.writeCode(0, 7)         // end of block
	second := gzipMember(bw.bytes(), []byte("abcd"))
	if _, err := z.Append(nil, append(first, second...), 1<<20); !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want a malformed-stream error", err)
	}
}

func TestHeaderChecksum(t *testing.T) {
	var z Inflater
	body := compress(t, []byte("with FHCRC"), 6)
	hdr := []byte{0x1f, 0x8b, 8, 0x02, 0, 0, 0, 0, 0, 255}
	crc := crc32.ChecksumIEEE(hdr)
	src := append(append(hdr, byte(crc), byte(crc>>8)), body[10:]...)
	if got, err := z.Append(nil, src, 100); err != nil || string(got) != "with FHCRC" {
		t.Fatalf("got %q, %v", got, err)
	}
	want, err := reference(src)
	if err != nil || string(want) != "with FHCRC" {
		t.Fatalf("reference: %q, %v", want, err)
	}
	src[10]++
	if _, err := z.Append(nil, src, 100); !errors.Is(err, ErrFormat) {
		t.Fatalf("bad header checksum: err = %v", err)
	}
}

func TestLimit(t *testing.T) {
	var z Inflater
	data := bytes.Repeat([]byte("0123456789"), 10_000)
	src := compress(t, data, 6)
	if _, err := z.Append(nil, src, len(data)-1); !errors.Is(err, ErrLimit) {
		t.Fatalf("one byte over: err = %v, want ErrLimit", err)
	}
	if got, err := z.Append(nil, src, len(data)); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("exactly the limit: %v", err)
	}
	stored := compress(t, data, gzip.NoCompression)
	if _, err := z.Append(nil, stored, 1000); !errors.Is(err, ErrLimit) {
		t.Fatalf("stored blocks over the limit: err = %v", err)
	}
	// Spare capacity in dst does not lift the limit (a decoder's buffer
	// keeps the capacity of the largest payload it has seen).
	if _, err := z.Append(make([]byte, 0, 2*len(data)), src, len(data)-1); !errors.Is(err, ErrLimit) {
		t.Fatalf("into a larger buffer, one byte over: err = %v, want ErrLimit", err)
	}
	if got, err := z.Append(make([]byte, 3, 2*len(data)), src, len(data)); err != nil || !bytes.Equal(got[3:], data) {
		t.Fatalf("into a larger buffer, exactly the limit: %v", err)
	}
	// A trailer that claims a huge size must not make Append allocate it.
	bomb := append([]byte(nil), src...)
	binary.LittleEndian.PutUint32(bomb[len(bomb)-4:], 1<<31)
	if allocs := testing.AllocsPerRun(1, func() { z.Append(nil, bomb, 1<<30) }); allocs > 40 {
		t.Fatalf("%v allocations", allocs)
	}
}

// Every strict prefix of a stream is truncated, and so an error.
func TestTruncated(t *testing.T) {
	var z Inflater
	for _, level := range []int{gzip.NoCompression, gzip.BestSpeed, gzip.BestCompression} {
		src := compress(t, []byte(strings.Repeat("truncate me, ", 300)), level)
		for n := range len(src) {
			if got, err := z.Append(nil, src[:n], 1<<20); !errors.Is(err, ErrFormat) {
				t.Fatalf("level %d, first %d of %d bytes: %d bytes, err %v", level, n, len(src), len(got), err)
			}
		}
	}
}

// klauspost/compress refuses a file name or comment of 512 bytes or more;
// gunzip must not accept what the reader it stands in front of refuses.
func TestLongHeaderNamesAreRefusedLikeKlauspost(t *testing.T) {
	var z Inflater
	body := compress(t, []byte("hello"), 6)[10:]
	for _, n := range []int{511, 512} {
		for _, flag := range []byte{0x08, 0x10} {
			src := append([]byte{0x1f, 0x8b, 8, flag, 0, 0, 0, 0, 0, 255}, bytes.Repeat([]byte{'a'}, n)...)
			src = append(append(src, 0), body...)
			got, err := z.Append(nil, src, 100)
			_, werr := reference(src)
			if (err == nil) != (werr == nil) {
				t.Fatalf("%d-byte field %#x: gunzip %q, %v; klauspost %v", n, flag, got, err, werr)
			}
			if n == 511 && (err != nil || string(got) != "hello") {
				t.Fatalf("511-byte field %#x: %q, %v", flag, got, err)
			}
		}
	}
}

func TestTrailingBytesAreAnError(t *testing.T) {
	var z Inflater
	src := compress(t, []byte("payload"), 6)
	for _, tail := range [][]byte{{0}, {0x1f}, []byte("garbage after the member")} {
		if _, err := z.Append(nil, append(append([]byte(nil), src...), tail...), 1<<20); !errors.Is(err, ErrFormat) {
			t.Fatalf("tail %q: err = %v", tail, err)
		}
	}
}

// Corrupting any byte either fails or gives exactly what the streaming
// reader gives: never different bytes.
func TestCorruptionNeverGivesOtherBytes(t *testing.T) {
	var z Inflater
	rng := rand.New(rand.NewPCG(3, 4))
	data := inputs()["logs"][:20_000]
	for _, level := range []int{gzip.HuffmanOnly, gzip.BestSpeed, gzip.BestCompression} {
		src := compress(t, data, level)
		for range 3000 {
			bad := append([]byte(nil), src...)
			bad[rng.IntN(len(bad))] ^= byte(1 + rng.IntN(255))
			sameAsReferenceWhenAccepted(t, &z, bad)
		}
	}
}

func sameAsReferenceWhenAccepted(t *testing.T, z *Inflater, src []byte) {
	t.Helper()
	got, err := z.Append(nil, src, 1<<24)
	if err != nil {
		if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrLimit) {
			t.Fatalf("unexpected error type: %v", err)
		}
		return
	}
	want, werr := reference(src)
	if werr != nil || !bytes.Equal(got, want) {
		t.Fatalf("accepted %x as %d bytes; the streaming reader gives %d bytes, %v", src, len(got), len(want), werr)
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, data := range inputs() {
		if len(data) < 5000 {
			f.Add(data, int8(6))
		}
	}
	f.Add([]byte(strings.Repeat("xyz", 1000)), int8(-2))
	f.Fuzz(func(t *testing.T, data []byte, level int8) {
		lv := int(uint8(level))%12 - 2 // klauspost's levels, -2 … 9
		src := compress(t, data, lv)
		var z Inflater
		got, err := z.Append(nil, src, len(data))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("level %d: %v, equal %v", lv, err, bytes.Equal(got, data))
		}
	})
}

func FuzzCorrupt(f *testing.F) {
	for _, data := range inputs() {
		if len(data) < 5000 {
			f.Add(compress(f, data, 6))
			f.Add(compress(f, data, gzip.HuffmanOnly))
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		var z Inflater
		sameAsReferenceWhenAccepted(t, &z, src)
	})
}

// bitWriter builds hand-made DEFLATE streams for the tests.
type bitWriter struct {
	buf   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) write(v uint64, n uint) {
	w.acc |= v << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

// writeCode writes a Huffman code, which DEFLATE packs first bit first.
func (w *bitWriter) writeCode(code uint64, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.write(code>>uint(i)&1, 1)
	}
}

func (w *bitWriter) bytes() []byte {
	if w.nbits > 0 {
		w.buf = append(w.buf, byte(w.acc))
	}
	return w.buf
}

// gzipMember wraps a raw DEFLATE stream whose content is content.
func gzipMember(deflate, content []byte) []byte {
	out := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}
	out = append(out, deflate...)
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(content))
	return binary.LittleEndian.AppendUint32(out, uint32(len(content)))
}

// canonical returns the DEFLATE codes (RFC 1951 3.2.2) of the given code
// lengths, a length of 0 being no code.
func canonical(lengths []uint8) []uint64 {
	var count [16]uint64
	for _, l := range lengths {
		count[l]++
	}
	count[0] = 0
	var next [16]uint64
	code := uint64(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint64, len(lengths))
	for s, l := range lengths {
		if l > 0 {
			codes[s] = next[l]
			next[l]++
		}
	}
	return codes
}

// TestLiteralRunsAtEveryBitPosition decodes dynamic blocks in which every
// literal takes the longest code the root table holds (litRoot bits) and the
// other symbols few bits, so that runs of literals start at every count of
// bits left in hand. The decoder takes up to four literals per refill and
// looks up the next code after them; were its bit budget short by one, some
// of these streams would decode to other bytes, which the trailer's CRC
// turns into an error.
func TestLiteralRunsAtEveryBitPosition(t *testing.T) {
	// Literal/length code: the 256 literals litRoot bits long, end of block
	// and length 3 two bits, lengths 4–10 and 11–20 (symbols 258–273) six
	// bits: 256/1024 + 2/4 + 16/64 = 1, a complete code.
	lit := make([]uint8, 286)
	for s := range 256 {
		lit[s] = litRoot
	}
	lit[256], lit[257] = 2, 2
	for s := 258; s <= 273; s++ {
		lit[s] = 6
	}
	dist := []uint8{1, 1} // distances 1 and 2
	litCodes, distCodes := canonical(lit), canonical(dist)
	// The code-length code: lengths 0, 1, 2, 6 and 10 (2, 2, 2, 3, 3 bits).
	clLen := make([]uint8, 19)
	clLen[0], clLen[1], clLen[2], clLen[6], clLen[10] = 2, 2, 2, 3, 3
	clCodes := canonical(clLen)
	order := [...]int{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 400 {
		var bw bitWriter
		bw.write(1, 1) // final
		bw.write(2, 2) // dynamic Huffman
		bw.write(uint64(len(lit)-257), 5)
		bw.write(uint64(len(dist)-1), 5)
		bw.write(18-4, 4) // code-length lengths up to symbol 1's place
		for _, s := range order[:18] {
			bw.write(uint64(clLen[s]), 3)
		}
		for _, l := range append(append([]uint8{}, lit...), dist...) {
			bw.writeCode(clCodes[l], uint(clLen[l]))
		}
		// A byte to start from, then runs of 1–9 literals between matches
		// of 3–20 bytes, the first shift differing from round to round.
		bw.writeCode(litCodes['x'], litRoot)
		for range round % 7 {
			bw.writeCode(litCodes[257], 2)
			bw.writeCode(distCodes[0], 1)
		}
		for range 300 {
			for range 1 + rng.IntN(9) {
				c := rng.IntN(256)
				bw.writeCode(litCodes[c], uint(lit[c]))
			}
			switch sym := 257 + rng.IntN(17); {
			case sym == 257:
				bw.writeCode(litCodes[sym], 2)
			case sym < 265: // lengths 4–10, no extra bits
				bw.writeCode(litCodes[sym], 6)
			default: // lengths 11–20, one or two extra bits
				bw.writeCode(litCodes[sym], 6)
				bw.write(uint64(rng.IntN(2)), uint(1+(sym-265)/4))
			}
			bw.writeCode(distCodes[rng.IntN(2)], 1)
		}
		bw.writeCode(litCodes[256], 2)
		deflate := bw.bytes()
		content, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflate)))
		if err != nil {
			t.Fatalf("round %d: the reference refuses the stream: %v", round, err)
		}
		var z Inflater
		got, err := z.Append(nil, gzipMember(deflate, content), 1<<20)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("round %d: %d bytes, %v; want %d bytes", round, len(got), err, len(content))
		}
	}
}
