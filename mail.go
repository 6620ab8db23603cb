package gatehouse

import "context"

// Message is an e-mail to one user.
type Message struct {
	To      string // address
	Subject string
	Body    string // plain text
}

// Mailer delivers messages: over SMTP when the instance has a server
// configured, otherwise into an outbox folder in the data dir.
type Mailer interface {
	// Send delivers msg or returns Unavailable when the mail server cannot
	// be reached; callers retry later rather than lose the message.
	Send(ctx context.Context, msg Message) error
}
