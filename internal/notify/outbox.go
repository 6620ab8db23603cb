package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/mail"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse"
)

// Outbox is a gatehouse.Mailer that writes each message as an RFC 5322
// .eml file into a folder, for instances without a mail server. A file
// appears complete or not at all: it is written under a dot-name and
// renamed into place.
type Outbox struct {
	Dir  string
	From *mail.Address
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

var _ gatehouse.Mailer = (*Outbox)(nil)

// Send writes msg to a new file named after the time and a random suffix.
// Returns Invalid for a message that cannot be composed and Internal when
// the file cannot be written.
func (o *Outbox) Send(ctx context.Context, msg gatehouse.Message) error {
	const op = "write e-mail to outbox"
	now := clock(o.Now)
	env, err := compose(o.From, msg, now)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return gatehouse.Wrap(op, gatehouse.Unavailable, err)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	var r [6]byte
	rand.Read(r[:])
	name := now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(r[:]) + ".eml"
	tmp, err := os.CreateTemp(o.Dir, ".tmp-*")
	if err != nil {
		return gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	_, err = tmp.Write(env.data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(o.Dir, name))
	}
	if err != nil {
		return gatehouse.Wrap(op, gatehouse.Internal, err)
	}
	return nil
}

func clock(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}
