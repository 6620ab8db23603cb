package main

import (
	"flag"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/notify"
)

// mailFlags are serve's e-mail settings. The SMTP password is read from
// the environment only, so that it shows up in no process list.
type mailFlags struct {
	addr, from, user *string
}

const smtpPasswordEnv = "GATEHOUSE_SMTP_PASSWORD"

func addMailFlags(fs *flag.FlagSet) mailFlags {
	return mailFlags{
		addr: fs.String("smtp-addr", envOr("GATEHOUSE_SMTP_ADDR", ""), "SMTP server host:port for e-mail (default: write .eml files to DATA/outbox)"),
		from: fs.String("smtp-from", envOr("GATEHOUSE_SMTP_FROM", ""), "sender address of e-mail (default: Gatehouse <gatehouse@HOST of --external-url>)"),
		user: fs.String("smtp-user", envOr("GATEHOUSE_SMTP_USER", ""), "SMTP user name; the password comes from env "+smtpPasswordEnv+" (sent only over STARTTLS)"),
	}
}

// mailer builds the configured gatehouse.Mailer.
func (m mailFlags) mailer(data, externalURL string, log *slog.Logger) (gatehouse.Mailer, error) {
	fromText := *m.from
	if fromText == "" {
		fromText = "Gatehouse <gatehouse@" + mailDomain(externalURL) + ">"
	}
	from, err := notify.ParseAddress(fromText)
	if err != nil {
		return nil, usagef("--smtp-from %q is not an e-mail address", fromText)
	}
	if *m.addr == "" {
		if *m.user != "" {
			return nil, usagef("--smtp-user needs --smtp-addr")
		}
		dir := filepath.Join(data, "outbox")
		log.Info("e-mail goes to the outbox folder; set --smtp-addr to send it", "dir", dir)
		return &notify.Outbox{Dir: dir, From: from}, nil
	}
	if _, port, err := net.SplitHostPort(*m.addr); err != nil || port == "" {
		return nil, usagef("--smtp-addr %q: use host:port", *m.addr)
	}
	pw := os.Getenv(smtpPasswordEnv)
	if *m.user != "" && pw == "" {
		return nil, usagef("--smtp-user is set but %s is empty", smtpPasswordEnv)
	}
	log.Info("e-mail goes to an SMTP server", "addr", *m.addr, "from", from.Address, "auth", *m.user != "")
	return &notify.SMTP{Addr: *m.addr, From: from, Username: *m.user, Password: pw}, nil
}

// mailDomain is the host of the external URL when it is a name, else
// localhost (an address like gatehouse@127.0.0.1 is not a valid mailbox).
func mailDomain(externalURL string) string {
	u, err := url.Parse(externalURL)
	if err != nil || u.Hostname() == "" || net.ParseIP(u.Hostname()) != nil {
		return "localhost"
	}
	return u.Hostname()
}

// reminderInterval is how often the expiry reminder job runs; tests
// shorten it with GATEHOUSE_REMINDER_INTERVAL.
func reminderInterval() (time.Duration, error) {
	v := os.Getenv("GATEHOUSE_REMINDER_INTERVAL")
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 100*time.Millisecond {
		return 0, usagef("GATEHOUSE_REMINDER_INTERVAL %q: use a duration of at least 100ms such as 5m", v)
	}
	return d, nil
}
