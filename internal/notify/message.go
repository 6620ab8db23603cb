// Package notify delivers e-mail: over SMTP when a server is configured,
// otherwise as .eml files in an outbox folder that an operator (or a
// program) can read. It also runs the job that reminds users of tokens
// about to expire.
package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// maxSubject bounds the subject, so that a header line stays far below the
// 998 octets RFC 5322 allows even after encoding.
const maxSubject = 500

// ParseAddress parses a single mailbox ("Name <user@host>" or
// "user@host"). It refuses line breaks and other control characters, which
// could otherwise smuggle extra headers into a message.
func ParseAddress(s string) (*mail.Address, error) {
	const op = "parse e-mail address"
	if hasControl(s) {
		return nil, gatehouse.E(op, gatehouse.Invalid, "e-mail address contains a control character")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Msg: "not a valid e-mail address", Err: err}
	}
	if hasControl(a.Name) || hasControl(a.Address) {
		// Encoded words can decode to anything.
		return nil, gatehouse.E(op, gatehouse.Invalid, "e-mail address contains a control character")
	}
	return a, nil
}

// hasControl reports whether s has an ASCII control character (CR, LF and
// the rest) or DEL, or is not UTF-8.
func hasControl(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}

// envelope is a message ready to hand to a transport.
type envelope struct {
	from, to string // bare addresses, for MAIL FROM and RCPT TO
	data     []byte // the RFC 5322 message, CRLF line endings
}

// compose builds the message: RFC 2047 encoded subject and names, a
// quoted-printable UTF-8 text body, and a random Message-ID.
func compose(from *mail.Address, msg gatehouse.Message, now time.Time) (*envelope, error) {
	const op = "compose e-mail"
	to, err := ParseAddress(msg.To)
	if err != nil {
		return nil, err
	}
	if hasControl(msg.Subject) {
		return nil, gatehouse.E(op, gatehouse.Invalid, "subject contains a control character")
	}
	if len(msg.Subject) > maxSubject {
		return nil, gatehouse.E(op, gatehouse.Invalid, "subject is too long")
	}
	if !utf8.ValidString(msg.Body) {
		return nil, gatehouse.E(op, gatehouse.Invalid, "body is not UTF-8")
	}
	var id [16]byte
	rand.Read(id[:])
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]

	var b bytes.Buffer
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", to.String())
	header("Subject", encodeHeader(msg.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(msg.Body, "\r\n", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	if err := qp.Close(); err != nil {
		return nil, gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	return &envelope{from: from.Address, to: to.Address, data: b.Bytes()}, nil
}

// encodeHeader encodes a header value with RFC 2047 when it is not plain
// ASCII, folding between encoded words so that no line grows too long.
func encodeHeader(s string) string {
	enc := mime.QEncoding.Encode("utf-8", s)
	return strings.ReplaceAll(enc, "?= =?", "?=\r\n =?")
}
