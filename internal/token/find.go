package token

import (
	"bytes"
	"hash/crc32"
	"io"
)

// Candidate is a token-shaped string with a correct checksum found in a
// stream. Whether it is a live token is for the store to say.
type Candidate struct {
	Token string
	// Line is the 1-based line of the stream the token starts on.
	Line int
}

// findChunk is how much Finder reads at a time.
const findChunk = 64 << 10

// keepLen is the most that can precede a body's underscore: a prefix and
// the fine-grained marker.
const keepLen = maxPrefixLen + len(FineGrainedMarker)

// Finder looks for tokens in byte streams of any size while holding at
// most one chunk of them in memory. The zero value is ready to use; a
// Finder reuses its buffer across calls and is not safe for concurrent use.
//
// A token is recognised wherever its shape appears, also inside a longer
// word: the checksum, not a word boundary, keeps false positives to about
// one in 2^32 bodies. Because the prefix is not fixed (instances choose
// theirs and may have changed it), a body with a correct checksum yields
// one candidate per prefix length the bytes before it allow, longest first.
// A token broken across lines is not a token and is not found.
type Finder struct {
	buf []byte
}

// Find calls fn for each candidate in r, in order of position, and returns
// the first read error other than io.EOF. fn returning false stops the
// search.
func (f *Finder) Find(r io.Reader, fn func(Candidate) bool) error {
	if cap(f.buf) < findChunk+keepLen+BodyLen {
		f.buf = make([]byte, 0, findChunk+keepLen+BodyLen)
	}
	buf := f.buf[:0]
	line := 1  // line number of buf[0]
	start := 0 // first position in buf not yet examined for '_'
	for {
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)][:min(findChunk, cap(buf)-len(buf))])
		buf = buf[:len(buf)+n]
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return err
		}
		// An underscore at i can start a body only when BodyLen bytes
		// follow it; later ones wait for the next chunk.
		end := len(buf) - BodyLen
		for i := start; i < end; {
			j := bytes.IndexByte(buf[i:end], '_')
			if j < 0 {
				break
			}
			i += j
			if !scanAt(buf, i, line, fn) {
				return nil
			}
			i++
		}
		if eof {
			return nil
		}
		// Keep what the next round needs: the unexamined tail, and up to
		// a prefix's worth of bytes before it.
		next := max(start, end)
		keep := max(0, next-(keepLen-1))
		line += bytes.Count(buf[:keep], []byte{'\n'})
		buf = buf[:copy(buf, buf[keep:])]
		start = next - keep
	}
}

// scanAt reports candidates for a body that follows the underscore at
// buf[i]. It returns fn's verdict, true when there was nothing to report.
func scanAt(buf []byte, i, line int, fn func(Candidate) bool) bool {
	body := buf[i+1 : i+1+BodyLen]
	var sum uint64
	for k := 0; k < BodyLen; k++ {
		v := base62Value[body[k]]
		if v == 0xff {
			return true
		}
		if k >= EntropyLen {
			sum = sum*62 + uint64(v)
		}
	}
	crc := ^uint32(0)
	for _, c := range body[:EntropyLen] {
		crc = crc32.IEEETable[byte(crc)^c] ^ (crc >> 8)
	}
	if sum != uint64(^crc) {
		return true
	}
	// The prefix is [a-z][a-z0-9]{1,9} before the underscore: walk back
	// over such characters and offer every length that starts with a
	// letter, longest first.
	lo := i
	for lo > 0 && i-lo < maxPrefixLen-1 {
		c := buf[lo-1]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			break
		}
		lo--
	}
	// A fine-grained token: the marker's word "pat" is preceded by an
	// underscore and the instance's prefix, offered before the rest.
	if m := len(FineGrainedMarker) - 1; i-lo >= m && string(buf[i-m:i]) == FineGrainedMarker[:m] && i-m > 0 && buf[i-m-1] == '_' {
		u := i - m - 1
		plo := u
		for plo > 0 && u-plo < maxPrefixLen-1 {
			c := buf[plo-1]
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				break
			}
			plo--
		}
		for p := plo; p <= u-(minPrefixLen-1); p++ {
			if buf[p] < 'a' || buf[p] > 'z' {
				continue
			}
			c := Candidate{Token: string(buf[p : i+1+BodyLen]), Line: line + bytes.Count(buf[:p], []byte{'\n'})}
			if !fn(c) {
				return false
			}
		}
	}
	for p := lo; p <= i-(minPrefixLen-1); p++ {
		if buf[p] < 'a' || buf[p] > 'z' {
			continue
		}
		c := Candidate{Token: string(buf[p : i+1+BodyLen]), Line: line + bytes.Count(buf[:p], []byte{'\n'})}
		if !fn(c) {
			return false
		}
	}
	return true
}
