package pushprotect

import (
	"bytes"

	"github.com/gatehouse/gatehouse/internal/token"
)

// The lengths that bound a token: a prefix of 2 to 10 characters and its
// underscore, then the body.
const (
	minTokenLen = 3 + token.BodyLen
	maxTokenLen = 11 + token.BodyLen
	// minBase64Run is the shortest base64 text that can hold a token:
	// minTokenLen bytes take 52 characters.
	minBase64Run = (minTokenLen + 2) / 3 * 4
	// minWrapped is the shortest line of wrapped base64 that a run
	// continues after: tools wrap at 64 or 76.
	minWrapped = 40
	// findChunk is how much a search holds at a time.
	findChunk = 64 << 10
)

// emitFunc receives a candidate with its line and the encoding it was
// found under; returning false stops the search.
type emitFunc func(tok string, line int, enc string) bool

// text searches one stream, written to it in pieces of any size, for
// tokens: the bytes as they are with NUL bytes dropped, so that UTF-16
// text (either byte order, with or without a BOM) of ASCII reads as ASCII
// and keeps its line numbers; and the decoded content of every run of
// base64 long enough to hold a token. It holds one chunk at a time
// whatever the size of the stream.
type text struct {
	raw *finds
	b64 *base64Runs
}

func newText(f *token.Finder, emit emitFunc, enc string) *text {
	b64enc := "base64"
	if enc != "" {
		b64enc = enc + ", base64"
	}
	t := &text{b64: &base64Runs{line: 1}}
	t.raw = newFinds(f, func(tok string, line int) bool { return emit(tok, line, enc) })
	for i := range t.b64.out {
		// A token in decoded base64 is reported on the line the base64
		// starts on.
		t.b64.out[i] = newFinds(f, func(tok string, _ int) bool { return emit(tok, t.b64.runLine, b64enc) })
	}
	return t
}

// Write implements io.Writer for io.TeeReader; it never fails.
func (t *text) Write(p []byte) (int, error) {
	t.write(p)
	return len(p), nil
}

func (t *text) write(p []byte) {
	t.b64.write(p)
	for len(p) > 0 {
		seg := p
		if i := bytes.IndexByte(p, 0); i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = nil
		}
		t.raw.write(seg)
	}
}

// end searches what is left and readies t for the next stream.
func (t *text) end() {
	t.raw.end()
	t.b64.end()
}

// finds runs a token.Finder over a stream written to it in pieces: it
// searches a chunk at a time, each overlapping the last by one token
// less a byte, so that a token across two chunks is found whole. A token
// in the overlap may be reported twice; the caller keeps the first.
type finds struct {
	f    *token.Finder
	r    bytes.Reader
	buf  []byte
	line int // line of buf[0]
	emit func(tok string, line int) bool
	stop bool
}

func newFinds(f *token.Finder, emit func(tok string, line int) bool) *finds {
	return &finds{f: f, buf: make([]byte, 0, findChunk), line: 1, emit: emit}
}

func (s *finds) write(p []byte) {
	for len(p) > 0 && !s.stop {
		n := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf, p = s.buf[:len(s.buf)+n], p[n:]
		if len(s.buf) == cap(s.buf) {
			s.flush()
		}
	}
}

// add appends one byte, dropping NULs.
func (s *finds) add(c byte) {
	if c == 0 || s.stop {
		return
	}
	s.buf = append(s.buf, c)
	if len(s.buf) == cap(s.buf) {
		s.flush()
	}
}

// flush searches the full buffer and keeps its overlap.
func (s *finds) flush() {
	s.search()
	keep := len(s.buf) - (maxTokenLen - 1)
	s.line += bytes.Count(s.buf[:keep], []byte{'\n'})
	s.buf = s.buf[:copy(s.buf, s.buf[keep:])]
}

func (s *finds) search() {
	if len(s.buf) < minTokenLen || s.stop {
		return
	}
	s.r.Reset(s.buf)
	s.f.Find(&s.r, func(c token.Candidate) bool {
		if !s.emit(c.Token, s.line+c.Line-1) {
			s.stop = true
		}
		return !s.stop
	})
}

// end searches what is left and readies s for the next stream.
func (s *finds) end() {
	s.search()
	s.buf, s.line, s.stop = s.buf[:0], 1, false
}

// base64Values maps both base64 alphabets (standard and URL-safe) to
// their values, and every other byte to 0xff.
var base64Values = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	const std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for i := 0; i < len(std); i++ {
		t[std[i]] = byte(i)
	}
	t['-'], t['_'] = 62, 63
	return t
}()

// mayRun is set for the bytes a base64 run may hold: its alphabets, and
// the NUL and CR it passes over.
var mayRun = func() (t [256]bool) {
	for i := range t {
		t[i] = base64Values[i] != 0xff
	}
	t[0], t['\r'] = true, true
	return t
}()

// base64Runs finds runs of base64 characters of at least minBase64Run and
// decodes them into out. A run goes on across a line break (and the
// indentation after it) when its part on the line looks like a line of
// wrapped base64 (PEM, MIME, base64(1), YAML block scalars): at least
// minWrapped characters, a multiple of four. A blank line, '=' or any
// other character ends it.
// Where a run starts in the encoding is not known (a word may lead into
// it, or lines be joined that were not one block), so it is decoded at
// all four offsets, into out[0..3]. Decoded NUL bytes are dropped, for
// base64 of UTF-16 (PowerShell's -EncodedCommand).
type base64Runs struct {
	line    int                // line of the next byte
	runLine int                // line the current run started on
	run     int                // characters in the current run
	seg     int                // of which on the current line
	gap     bool               // a line break continues the run
	head    [minBase64Run]byte // the run's characters while it is short
	acc     [4]uint32
	n       [4]uint8
	out     [4]*finds
}

func (b *base64Runs) write(p []byte) {
	counted := 0 // the lines of p[:counted] are in b.line
	for i := 0; i < len(p); {
		c := p[i]
		if b.run == 0 {
			// Outside a run, one can start only in a stretch of at least
			// minWrapped bytes that may belong to one (or at the end of
			// p, where it may go on), and such a stretch holds the byte
			// minWrapped-1 ahead whichever byte it starts at: most text
			// is passed over a stretch at a time.
			if k := i + minWrapped - 1; k < len(p) {
				if !mayRun[p[k]] {
					i = k + 1
					continue
				}
				for k > i && mayRun[p[k-1]] {
					k--
				}
				i, c = k, p[k]
			}
		}
		if base64Values[c] != 0xff {
			j := i + 1
			for j < len(p) && base64Values[p[j]] != 0xff {
				j++
			}
			if b.run == 0 {
				b.line += bytes.Count(p[counted:i], []byte{'\n'})
				counted = i
				b.runLine = b.line
			}
			b.chars(p[i:j])
			i = j
			continue
		}
		i++
		switch c {
		case '\n':
			if b.run > 0 {
				if b.gap || b.seg < minWrapped || b.seg%4 != 0 {
					b.endRun()
				} else {
					b.gap = true
				}
			}
		case '\r', 0:
			// Part of a line break; a NUL of UTF-16.
		case ' ', '\t':
			// Indentation of a continued run, or its end.
			if b.run > 0 && !b.gap {
				b.endRun()
			}
		default:
			if b.run > 0 {
				b.endRun()
			}
		}
	}
	b.line += bytes.Count(p[counted:], []byte{'\n'})
}

// chars adds s, characters of the alphabet, to the current run. Until the
// run is long enough to decode, its characters are only kept.
func (b *base64Runs) chars(s []byte) {
	if b.gap {
		b.gap, b.seg = false, 0
	}
	b.seg += len(s)
	if b.run+len(s) < minBase64Run {
		b.run += copy(b.head[b.run:], s)
		return
	}
	if b.run < minBase64Run {
		for i, c := range b.head[:b.run] {
			b.feed(i, base64Values[c])
		}
	}
	for _, c := range s {
		b.feed(b.run, base64Values[c])
		b.run++
	}
}

// feed decodes the run's character i, of value v, at each offset.
func (b *base64Runs) feed(i int, v byte) {
	for a := range b.acc {
		if i < a {
			return
		}
		b.acc[a] = b.acc[a]<<6 | uint32(v)
		if b.n[a]++; b.n[a] == 4 {
			x, o := b.acc[a], b.out[a]
			o.add(byte(x >> 16))
			o.add(byte(x >> 8))
			o.add(byte(x))
			b.n[a] = 0
		}
	}
}

func (b *base64Runs) endRun() {
	if b.run >= minBase64Run {
		for a, o := range b.out {
			// The bytes a partial group still holds, as with missing
			// padding.
			switch x := b.acc[a]; b.n[a] {
			case 2:
				o.add(byte(x >> 4))
			case 3:
				o.add(byte(x >> 10))
				o.add(byte(x >> 2))
			}
			o.end()
		}
	}
	b.run, b.seg, b.gap, b.acc, b.n = 0, 0, false, [4]uint32{}, [4]uint8{}
}

// end ends the stream.
func (b *base64Runs) end() {
	if b.run > 0 {
		b.endRun()
	}
	b.line, b.gap = 1, false
}
