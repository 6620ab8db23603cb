package main

import (
	"flag"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/notify"
)

const smtpPasswordEnv = "GATEHOUSE_SMTP_PASSWORD"

// mailConfig is serve's e-mail settings. The SMTP password is read from
// the environment only, so that it shows up in no process list.
type mailConfig struct {
	// Addr is the SMTP server's host:port; empty writes .eml files to
	// DATA/outbox instead.
	Addr string
	// From is the sender; empty for Gatehouse <gatehouse@HOST> with the
	// host of the external URL.
	From string
	// User is the SMTP user name, which needs Password.
	User string
	// Password comes from smtpPasswordEnv only.
	Password string
}

// register adds the e-mail flags to fs, with m's values as defaults.
func (m *mailConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&m.Addr, "smtp-addr", m.Addr, "SMTP server host:port for e-mail (default: write .eml files to DATA/outbox)")
	fs.StringVar(&m.From, "smtp-from", m.From, "sender address of e-mail (default: Gatehouse <gatehouse@HOST of --external-url>)")
	fs.StringVar(&m.User, "smtp-user", m.User, "SMTP user name; the password comes from env "+smtpPasswordEnv+" (sent only over STARTTLS)")
}

// validate checks the settings as far as they do not depend on the
// external URL. name turns a flag name into the name of where the value
// came from, for the messages.
func (m *mailConfig) validate(name func(flag string) string) error {
	if m.From != "" {
		if _, err := notify.ParseAddress(m.From); err != nil {
			return usagef("%s %q is not an e-mail address", name("smtp-from"), m.From)
		}
	}
	if m.Addr == "" {
		if m.User != "" {
			return usagef("%s needs %s", name("smtp-user"), name("smtp-addr"))
		}
		return nil
	}
	if _, port, err := net.SplitHostPort(m.Addr); err != nil || port == "" {
		return usagef("%s %q: use host:port", name("smtp-addr"), m.Addr)
	}
	if m.User != "" && m.Password == "" {
		return usagef("%s is set but %s is empty", name("smtp-user"), smtpPasswordEnv)
	}
	return nil
}

// mailer builds the configured gatehouse.Mailer.
func (m *mailConfig) mailer(data, externalURL string, log *slog.Logger) (gatehouse.Mailer, error) {
	if err := m.validate(flagName); err != nil {
		return nil, err
	}
	fromText := m.From
	if fromText == "" {
		fromText = "Gatehouse <gatehouse@" + mailDomain(externalURL) + ">"
	}
	from, err := notify.ParseAddress(fromText)
	if err != nil {
		return nil, usagef("--smtp-from %q is not an e-mail address", fromText)
	}
	if m.Addr == "" {
		dir := filepath.Join(data, "outbox")
		log.Info("e-mail goes to the outbox folder; set --smtp-addr to send it", "dir", dir)
		return &notify.Outbox{Dir: dir, From: from}, nil
	}
	log.Info("e-mail goes to an SMTP server", "addr", m.Addr, "from", from.Address, "auth", m.User != "")
	return &notify.SMTP{Addr: m.Addr, From: from, Username: m.User, Password: m.Password}, nil
}

// flags returns m as the mailFlags that protectPushes hands to the hook.
func (m *mailConfig) flags() mailFlags {
	return mailFlags{addr: &m.Addr, from: &m.From, user: &m.User}
}

// mailFlags are the e-mail flags of hook pre-receive, which serve sets
// through the environment (see protectPushes).
type mailFlags struct {
	addr, from, user *string
}

// mailEnv pairs the e-mail flags with the variables that stand in for
// them, for serve and for hook pre-receive.
func mailEnv() [][2]string {
	return [][2]string{
		{"smtp-addr", "GATEHOUSE_SMTP_ADDR"},
		{"smtp-from", "GATEHOUSE_SMTP_FROM"},
		{"smtp-user", "GATEHOUSE_SMTP_USER"},
	}
}

// addMailFlags registers the e-mail flags on fs; the command takes those
// the arguments leave out from mailEnv.
func addMailFlags(fs *flag.FlagSet) mailFlags {
	m := &mailConfig{}
	m.register(fs)
	return m.flags()
}

// mailer builds the configured gatehouse.Mailer, with the password from
// the environment.
func (f mailFlags) mailer(data, externalURL string, log *slog.Logger) (gatehouse.Mailer, error) {
	m := &mailConfig{Addr: *f.addr, From: *f.from, User: *f.user, Password: os.Getenv(smtpPasswordEnv)}
	return m.mailer(data, externalURL, log)
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
