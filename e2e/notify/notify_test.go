// Package notify drives token expiry reminders through the built gatehouse
// binary: a token about to expire leaves an e-mail in the data dir's
// outbox, with a link to regenerate it and without its secret.
package notify

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

func TestExpiryReminderInOutbox(t *testing.T) {
	s := testenv.Start(t, testenv.Options{Env: []string{"GATEHOUSE_REMINDER_INTERVAL=200ms"}})
	s.CreateUser("alice", false)
	tomorrow := time.Now().UTC().Add(24 * time.Hour).Format(time.DateOnly)
	secret := s.Token("alice", "deploy bot", "repo,read:org", tomorrow)
	s.Token("alice", "forever", "repo", "never")
	s.Token("alice", "next month", "repo", "30d")

	var listed []struct {
		ID   int64  `json:"id"`
		Note string `json:"note"`
	}
	if err := json.Unmarshal([]byte(s.Admin("token", "list", "--user", "alice", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, tok := range listed {
		if tok.Note == "deploy bot" {
			id = tok.ID
		}
	}

	outbox := filepath.Join(s.Data, "outbox")
	var files []string
	deadline := time.Now().Add(30 * time.Second)
	for len(files) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		files, _ = filepath.Glob(filepath.Join(outbox, "*.eml"))
	}
	if len(files) == 0 {
		t.Fatalf("no reminder in %s after 30s:\n%s", outbox, s.Log())
	}
	// Several more runs of the job must not send it again.
	time.Sleep(time.Second)
	if files, _ = filepath.Glob(filepath.Join(outbox, "*.eml")); len(files) != 1 {
		t.Fatalf("outbox holds %d messages, want one: %v", len(files), files)
	}
	entries, _ := os.ReadDir(outbox)
	if len(entries) != 1 {
		t.Errorf("outbox holds temporary files: %v", entries)
	}

	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{secret, secret[4 : len(secret)-8]} {
		if bytes.Contains(raw, []byte(part)) {
			t.Fatalf("the reminder contains the token's secret:\n%s", raw)
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not an e-mail message: %v\n%s", err, raw)
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if to, _ := m.Header.AddressList("To"); len(to) != 1 || to[0].Address != "alice@example.com" {
		t.Errorf("To: %v", to)
	}
	if !strings.Contains(subject, `"deploy bot" expires on `+tomorrow) {
		t.Errorf("Subject: %q", subject)
	}
	link := s.URL + "/settings/tokens/" + strconv.FormatInt(id, 10) + "/regenerate"
	for _, want := range []string{link, "…" + secret[len(secret)-8:], "Scopes: read:org, repo"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	// The link leads to the regenerate page (behind sign-in).
	res, err := s.Client(t).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Request.URL.Path, "login") {
		t.Errorf("GET %s → %d at %s, want the sign-in page", link, res.StatusCode, res.Request.URL)
	}
}

// TestSMTPSettingsRefused stops serve on e-mail settings that cannot work,
// before it listens, and never echoes a password.
func TestSMTPSettingsRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  []string
		want string
	}{
		"user without password": {[]string{"--smtp-addr", "127.0.0.1:2525", "--smtp-user", "gatehouse"}, nil, "GATEHOUSE_SMTP_PASSWORD is empty"},
		"user without server":   {[]string{"--smtp-user", "gatehouse"}, []string{"GATEHOUSE_SMTP_PASSWORD=hunter2-secret"}, "--smtp-user needs --smtp-addr"},
		"address without port":  {[]string{"--smtp-addr", "mail.example.com"}, nil, "use host:port"},
		"bad sender":            {[]string{"--smtp-from", "Gatehouse <gh@example.com>\r\nBcc: x@example.com"}, nil, "not an e-mail address"},
	} {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir()}, tc.args...)
			cmd := testenv.Command(t, args...)
			cmd.Env = append(cmd.Env, tc.env...)
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Fatalf("serve %v: %v, output %q; want a refusal saying %q", tc.args, err, out, tc.want)
			}
			if strings.Contains(string(out), "hunter2") {
				t.Errorf("the password is in the output: %q", out)
			}
		})
	}
}
