package gatehouse

import (
	"errors"
	"fmt"
)

// Kind classifies an error so that transports can map it to a status code
// without looking at its text.
type Kind int

// Error kinds. The zero value is Internal so that an unclassified error is
// never mistaken for a client mistake.
const (
	Internal        Kind = iota // something broke on our side
	Invalid                     // the request is malformed or fails validation
	NotFound                    // the thing does not exist or the caller may not know it does
	Unauthenticated             // no credentials, or credentials that do not identify anyone
	Forbidden                   // the caller is known but may not do this
	Conflict                    // the thing already exists or changed underneath
	Unavailable                 // the request cannot be served right now (throttling, shutdown)
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Unauthenticated:
		return "unauthenticated"
	case Forbidden:
		return "forbidden"
	case Conflict:
		return "conflict"
	case Unavailable:
		return "unavailable"
	}
	return "internal"
}

// Error is the one error type of the domain: an operation, a kind, a
// message safe to show to the caller, and an optional cause.
type Error struct {
	Op    string // what was being done, e.g. "create token"
	Kind  Kind
	Msg   string // safe for the caller; never holds a secret
	Field string // for Invalid: the offending field, if any
	Err   error  // the cause, for logs
}

// E builds an *Error. Msg is shown to callers, so it must not contain secrets.
func E(op string, kind Kind, msg string) *Error {
	return &Error{Op: op, Kind: kind, Msg: msg}
}

// Wrap builds an *Error of the given kind around a cause.
func Wrap(op string, kind Kind, err error) *Error {
	return &Error{Op: op, Kind: kind, Err: err}
}

func (e *Error) Error() string {
	s := e.Op
	if e.Msg != "" {
		if s != "" {
			s += ": "
		}
		s += e.Msg
	}
	if e.Err != nil {
		if s != "" {
			s += ": "
		}
		s += e.Err.Error()
	}
	if s == "" {
		s = e.Kind.String()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorKind returns the kind of the first *Error in err's chain, or Internal.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		if e.Kind == Internal && e.Err != nil {
			if k := ErrorKind(e.Err); k != Internal {
				return k
			}
		}
		return e.Kind
	}
	return Internal
}

// ErrorMessage returns the caller-safe message of the first *Error in err's
// chain that has one, or "" when there is none.
func ErrorMessage(err error) string {
	var e *Error
	for errors.As(err, &e) {
		if e.Msg != "" {
			return e.Msg
		}
		err = e.Err
		e = nil
	}
	return ""
}

// IsKind reports whether err is of the given kind.
func IsKind(err error, k Kind) bool { return err != nil && ErrorKind(err) == k }

// Errorf is a convenience for an Invalid error with a formatted message.
func Errorf(op string, kind Kind, format string, args ...any) *Error {
	return &Error{Op: op, Kind: kind, Msg: fmt.Sprintf(format, args...)}
}
