package notify

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
)

// fakeSMTP is a minimal SMTP server: EHLO, STARTTLS, AUTH PLAIN, MAIL,
// RCPT, DATA, QUIT, recording what it was told.
type fakeSMTP struct {
	ln   net.Listener
	tls  *tls.Config // nil: STARTTLS not offered
	user string      // AUTH PLAIN required when set (offered after TLS only)
	pass string
	rcpt string // reply to RCPT, "250 ok" when empty

	mu       sync.Mutex
	commands []string // verbs in order, with "(tls)" once encrypted
	authed   bool
	msgs     []string
}

func startFakeSMTP(t *testing.T, f *fakeSMTP) *fakeSMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.serve(c)
		}
	}()
	return f
}

func (f *fakeSMTP) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.commands = append(f.commands, s)
}

func (f *fakeSMTP) serve(c net.Conn) {
	defer func() { c.Close() }()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	secure := false
	tp.PrintfLine("220 fake ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if secure {
			f.record(verb + " (tls)")
		} else {
			f.record(verb)
		}
		switch verb {
		case "EHLO":
			ext := []string{"fake"}
			if f.tls != nil && !secure {
				ext = append(ext, "STARTTLS")
			}
			if f.user != "" && secure {
				ext = append(ext, "AUTH PLAIN")
			}
			ext = append(ext, "8BITMIME")
			for i, e := range ext {
				sep := "-"
				if i == len(ext)-1 {
					sep = " "
				}
				tp.PrintfLine("250%s%s", sep, e)
			}
		case "STARTTLS":
			tp.PrintfLine("220 go ahead")
			tc := tls.Server(c, f.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, tp, secure = tc, textproto.NewConn(tc), true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			raw, _ := base64.StdEncoding.DecodeString(resp)
			if mech == "PLAIN" && string(raw) == "\x00"+f.user+"\x00"+f.pass {
				f.mu.Lock()
				f.authed = true
				f.mu.Unlock()
				tp.PrintfLine("235 accepted")
			} else {
				tp.PrintfLine("535 authentication failed")
			}
		case "MAIL":
			f.mu.Lock()
			ok := f.user == "" || f.authed
			f.mu.Unlock()
			if !ok {
				tp.PrintfLine("530 authentication required")
				continue
			}
			tp.PrintfLine("250 ok")
		case "RCPT":
			if f.rcpt != "" {
				tp.PrintfLine("%s", f.rcpt)
				continue
			}
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 go on")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			f.mu.Lock()
			f.msgs = append(f.msgs, string(data))
			f.mu.Unlock()
			tp.PrintfLine("250 queued")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 unknown")
		}
	}
}

func (f *fakeSMTP) seen() ([]string, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.commands...), append([]string{}, f.msgs...)
}

// testTLS returns a server certificate for 127.0.0.1 and a client
// configuration trusting it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(hs.Close)
	pool := x509.NewCertPool()
	pool.AddCert(hs.Certificate())
	return &tls.Config{Certificates: hs.TLS.Certificates}, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func TestSMTP(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	const password = "sm7p-pa55word"
	msg := gatehouse.Message{To: "Alice <alice@example.com>", Subject: "Expiry — 期限", Body: "Hello Alice,\n.\nA line with a lone dot above.\n"}

	t.Run("STARTTLS and AUTH PLAIN", func(t *testing.T) {
		f := startFakeSMTP(t, &fakeSMTP{tls: serverTLS, user: "gatehouse", pass: password})
		s := &SMTP{Addr: f.ln.Addr().String(), From: testFrom, Username: "gatehouse", Password: password, TLSConfig: clientTLS}
		if err := s.Send(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
		cmds, msgs := f.seen()
		if got := strings.Join(cmds, ","); got != "EHLO,STARTTLS,EHLO (tls),AUTH (tls),MAIL (tls),RCPT (tls),DATA (tls),QUIT (tls)" {
			t.Errorf("session: %s", got)
		}
		if len(msgs) != 1 {
			t.Fatalf("%d messages delivered", len(msgs))
		}
		h, body := readMessage(t, []byte(strings.ReplaceAll(msgs[0], "\n", "\r\n")))
		if to, _ := h.AddressList("To"); len(to) != 1 || to[0].Address != "alice@example.com" {
			t.Errorf("To %v", to)
		}
		if body != strings.ReplaceAll(msg.Body, "\n", "\r\n") {
			t.Errorf("body %q", body)
		}
	})

	t.Run("no STARTTLS: no password", func(t *testing.T) {
		f := startFakeSMTP(t, &fakeSMTP{user: "gatehouse", pass: password})
		s := &SMTP{Addr: f.ln.Addr().String(), From: testFrom, Username: "gatehouse", Password: password}
		err := s.Send(t.Context(), msg)
		if err == nil || strings.Contains(err.Error(), password) {
			t.Fatalf("Send = %v; want a refusal that does not repeat the password", err)
		}
		cmds, msgs := f.seen()
		for _, c := range cmds {
			if strings.HasPrefix(c, "AUTH") {
				t.Errorf("credentials sent over plain text: %v", cmds)
			}
		}
		if len(msgs) != 0 {
			t.Error("message delivered")
		}
	})

	t.Run("no auth, no TLS", func(t *testing.T) {
		f := startFakeSMTP(t, &fakeSMTP{})
		s := &SMTP{Addr: f.ln.Addr().String(), From: testFrom}
		if err := s.Send(t.Context(), msg); err != nil {
			t.Fatal(err)
		}
		if _, msgs := f.seen(); len(msgs) != 1 {
			t.Fatalf("%d messages delivered", len(msgs))
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		f := startFakeSMTP(t, &fakeSMTP{tls: serverTLS, user: "gatehouse", pass: password})
		s := &SMTP{Addr: f.ln.Addr().String(), From: testFrom, Username: "gatehouse", Password: "not-it", TLSConfig: clientTLS}
		// The operator can fix the configuration: retry later.
		if err := s.Send(t.Context(), msg); !gatehouse.IsKind(err, gatehouse.Unavailable) {
			t.Fatalf("Send = %v, want Unavailable", err)
		}
	})

	for code, kind := range map[string]gatehouse.Kind{
		"550 no such user":           gatehouse.Invalid,
		"451 try again later":        gatehouse.Unavailable,
		"452 mailbox full for today": gatehouse.Unavailable,
	} {
		t.Run("RCPT "+code, func(t *testing.T) {
			f := startFakeSMTP(t, &fakeSMTP{rcpt: code})
			s := &SMTP{Addr: f.ln.Addr().String(), From: testFrom}
			if err := s.Send(t.Context(), msg); !gatehouse.IsKind(err, kind) {
				t.Fatalf("Send = %v, want %v", err, kind)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		s := &SMTP{Addr: addr, From: testFrom}
		if err := s.Send(t.Context(), msg); !gatehouse.IsKind(err, gatehouse.Unavailable) {
			t.Fatalf("Send = %v, want Unavailable", err)
		}
	})

	t.Run("silent server times out", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		go func() {
			c, err := ln.Accept()
			if err == nil {
				defer c.Close()
				time.Sleep(2 * time.Second)
			}
		}()
		s := &SMTP{Addr: ln.Addr().String(), From: testFrom, Timeout: 200 * time.Millisecond}
		start := time.Now()
		err := s.Send(t.Context(), msg)
		if !gatehouse.IsKind(err, gatehouse.Unavailable) || time.Since(start) > time.Second {
			t.Fatalf("Send = %v after %v", err, time.Since(start))
		}
	})

	t.Run("header injection", func(t *testing.T) {
		f := startFakeSMTP(t, &fakeSMTP{})
		s := &SMTP{Addr: f.ln.Addr().String(), From: testFrom}
		bad := msg
		bad.To = "alice@example.com>\r\nRCPT TO:<eve@example.com"
		if err := s.Send(t.Context(), bad); !gatehouse.IsKind(err, gatehouse.Invalid) {
			t.Fatalf("Send = %v, want Invalid", err)
		}
		if cmds, _ := f.seen(); len(cmds) != 0 {
			t.Errorf("connected anyway: %v", cmds)
		}
	})
}
