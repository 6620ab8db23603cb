package notify

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

var testFrom = &mail.Address{Name: "Gatehouse", Address: "gatehouse@git.example.com"}

// readMessage parses an RFC 5322 message and returns its headers and the
// decoded body.
func readMessage(t *testing.T, data []byte) (mail.Header, string) {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(data, []byte("\r\n"), nil), []byte("\n")) {
		t.Fatalf("message has a bare LF:\n%s", data)
	}
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not an RFC 5322 message: %v\n%s", err, data)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	return m.Header, string(body)
}

func TestCompose(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	long := strings.Repeat("a very long line of text ", 10)
	env, err := compose(testFrom, gatehouse.Message{
		To:      "Ålice Example <alice@example.com>",
		Subject: "Token 「ci」 expires — 有効期限のお知らせ " + strings.Repeat("é", 40),
		Body:    "Hello,\nline two with é and 日本語\n" + long + "\n",
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if env.from != "gatehouse@git.example.com" || env.to != "alice@example.com" {
		t.Errorf("envelope %q → %q", env.from, env.to)
	}
	for _, line := range strings.Split(string(env.data), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line of %d octets", len(line))
		}
		for _, c := range []byte(line) {
			if c >= 0x80 {
				t.Fatalf("8-bit octet in a quoted-printable message: %q", line)
			}
		}
	}
	h, body := readMessage(t, env.data)
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || !strings.HasPrefix(subject, "Token 「ci」 expires — 有効期限のお知らせ éé") {
		t.Errorf("Subject decodes to %q (%v); raw %q", subject, err, h.Get("Subject"))
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Ålice Example" || to[0].Address != "alice@example.com" {
		t.Errorf("To = %v, %v", to, err)
	}
	if from, err := h.AddressList("From"); err != nil || from[0].Address != testFrom.Address {
		t.Errorf("From = %v, %v", from, err)
	}
	if d, err := h.Date(); err != nil || !d.Equal(now) {
		t.Errorf("Date = %v, %v", d, err)
	}
	for k, want := range map[string]string{
		"MIME-Version":              "1.0",
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "quoted-printable",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if id := h.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@git.example.com>") {
		t.Errorf("Message-ID = %q", id)
	}
	want := "Hello,\r\nline two with é and 日本語\r\n" + long + "\r\n"
	if body != want {
		t.Errorf("body = %q, want %q", body, want)
	}

	other, _ := compose(testFrom, gatehouse.Message{To: "a@example.com", Subject: "s", Body: "b"}, now)
	h2, _ := readMessage(t, other.data)
	if h2.Get("Message-ID") == h.Get("Message-ID") {
		t.Error("two messages share a Message-ID")
	}
	if h2.Get("Subject") != "s" {
		t.Errorf("ASCII subject encoded: %q", h2.Get("Subject"))
	}
}

// TestHeaderInjection refuses every way of adding a header line.
func TestHeaderInjection(t *testing.T) {
	ok := gatehouse.Message{To: "alice@example.com", Subject: "hello", Body: "body"}
	for name, m := range map[string]gatehouse.Message{
		"LF in subject":         {To: ok.To, Subject: "hi\nBcc: eve@example.com", Body: ok.Body},
		"CR in subject":         {To: ok.To, Subject: "hi\rBcc: eve@example.com", Body: ok.Body},
		"CRLF in address":       {To: "alice@example.com\r\nBcc: eve@example.com", Subject: ok.Subject, Body: ok.Body},
		"LF in name":            {To: "\"Alice\nBcc: eve@example.com\" <alice@example.com>", Subject: ok.Subject, Body: ok.Body},
		"encoded LF in name":    {To: "=?utf-8?q?Alice=0ABcc=3A_eve=40example=2Ecom?= <alice@example.com>", Subject: ok.Subject, Body: ok.Body},
		"two recipients":        {To: "alice@example.com, eve@example.com", Subject: ok.Subject, Body: ok.Body},
		"no address":            {To: "", Subject: ok.Subject, Body: ok.Body},
		"NUL in subject":        {To: ok.To, Subject: "a\x00b", Body: ok.Body},
		"invalid UTF-8 subject": {To: ok.To, Subject: "a\xffb", Body: ok.Body},
	} {
		t.Run(name, func(t *testing.T) {
			env, err := compose(testFrom, m, time.Now())
			if !gatehouse.IsKind(err, gatehouse.Invalid) {
				t.Fatalf("compose = %v; want Invalid, message:\n%s", err, env.data)
			}
		})
	}
	// A body may hold anything: it is encoded and cannot end the headers
	// early or add lines to them.
	env, err := compose(testFrom, gatehouse.Message{To: ok.To, Subject: ok.Subject, Body: "\r\nBcc: eve@example.com\r\n.\r\nQUIT\r\n"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	h, _ := readMessage(t, env.data)
	if h.Get("Bcc") != "" {
		t.Error("body became a header")
	}
	if _, err := ParseAddress("Gatehouse <gh@example.com>\r\nBcc: x@example.com"); err == nil {
		t.Error("ParseAddress accepted CRLF")
	}
}
