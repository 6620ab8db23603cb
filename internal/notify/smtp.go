package notify

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"time"

	"github.com/gatehouse/gatehouse"
)

// SMTP is a gatehouse.Mailer that hands each message to a mail server. It
// upgrades the connection with STARTTLS whenever the server offers it, and
// sends credentials (PLAIN) only over TLS: a server that does not offer
// STARTTLS gets no password.
type SMTP struct {
	Addr string // host:port
	From *mail.Address
	// Username and Password enable authentication when Username is set.
	// The password never appears in an error or log line.
	Username, Password string
	// TLSConfig is used for STARTTLS; nil verifies the server against the
	// system roots under the host name of Addr.
	TLSConfig *tls.Config
	// Timeout bounds one delivery (30 seconds when zero).
	Timeout time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

var _ gatehouse.Mailer = (*SMTP)(nil)

// Send delivers msg in one SMTP session. Returns Invalid for a message that
// cannot be composed or that the server refuses for good (5xx), Unavailable
// when the server cannot be reached or answers "try later" (4xx), and
// Internal when authentication would have to go over plain text.
func (s *SMTP) Send(ctx context.Context, msg gatehouse.Message) error {
	const op = "send e-mail"
	env, err := compose(s.From, msg, clock(s.Now))
	if err != nil {
		return err
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return &gatehouse.Error{Op: op, Kind: gatehouse.Invalid, Msg: "SMTP address must be host:port", Err: err}
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return gatehouse.Wrap(op, gatehouse.Unavailable, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := s.session(conn, host, env); err != nil {
		return smtpError(op, err)
	}
	return nil
}

func (s *SMTP) session(conn net.Conn, host string, env *envelope) error {
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	secure := false
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLSConfig
		if cfg == nil {
			cfg = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(cfg); err != nil {
			return err
		}
		secure = true
	}
	if s.Username != "" {
		if !secure {
			return errNoTLS
		}
		// smtp.PlainAuth checks the TLS state itself as well.
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(env.from); err != nil {
		return err
	}
	if err := c.Rcpt(env.to); err != nil {
		return refused{err}
	}
	w, err := c.Data()
	if err != nil {
		return refused{err}
	}
	if _, err := w.Write(env.data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return refused{err}
	}
	return c.Quit()
}

var errNoTLS = errors.New("the SMTP server does not offer STARTTLS; not sending credentials in plain text")

// refused marks an error the server gave about this message (recipient or
// content) rather than about the session.
type refused struct{ err error }

func (r refused) Error() string { return r.err.Error() }
func (r refused) Unwrap() error { return r.err }

// smtpError classifies a failed session. Only a permanent (5xx) refusal of
// this message is not worth retrying; a refused login or sender is a
// configuration problem that the operator may fix, so it stays
// Unavailable like a server that cannot be reached.
func smtpError(op string, err error) error {
	var (
		pe  *textproto.Error
		ref refused
	)
	switch {
	case errors.Is(err, errNoTLS):
		return &gatehouse.Error{Op: op, Kind: gatehouse.Internal, Msg: errNoTLS.Error()}
	case errors.As(err, &ref) && errors.As(err, &pe) && pe.Code >= 500:
		return gatehouse.Wrap(op, gatehouse.Invalid, err)
	}
	return gatehouse.Wrap(op, gatehouse.Unavailable, err)
}
