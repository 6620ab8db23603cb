package sqldb_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/sqldb"
	"github.com/gatehouse/gatehouse/internal/testenv"
)

// TestPostgresOutage reaches PostgreSQL through a proxy that the test cuts
// (every connection reset, new ones refused) and restores on the same
// address: while it is cut every store call fails with Unavailable and the
// caller's message, and once it is back the same *DB serves again, without
// being reopened. e2e/faults does the same with a real server restart
// under running nodes.
func TestPostgresOutage(t *testing.T) {
	dbURL := testenv.Postgres(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := newCutProxy(t, u.Host)
	u.Host = p.addr
	db := openFile(t, u.String())
	defer db.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()

	alice := &gatehouse.User{Login: "alice", Email: "alice@example.com"}
	if err := db.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}
	repo := &gatehouse.Repo{OwnerID: alice.ID, Name: "project", DefaultBranch: "main"}
	if err := db.CreateRepo(ctx, repo); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"FindUserByID": func() error { _, err := db.FindUserByID(ctx, alice.ID); return err },
		"FindRepo":     func() error { _, err := db.FindRepo(ctx, "alice", "project"); return err },
		"ListRepos": func() error {
			_, err := db.ListRepos(ctx, gatehouse.RepoFilter{OwnerID: alice.ID}, gatehouse.Page{})
			return err
		},
		"UpdateRepo": func() error { return db.UpdateRepo(ctx, repo) },
		"CreateUser": func() error {
			return db.CreateUser(ctx, &gatehouse.User{Login: "bob", Email: "bob@example.com"})
		},
		"Invalidations": func() error { _, _, err := db.Invalidations(ctx, 0); return err },
	}

	p.cut()
	for name, call := range calls {
		err := call()
		if k := gatehouse.ErrorKind(err); k != gatehouse.Unavailable || gatehouse.ErrorMessage(err) != sqldb.MsgUnavailable {
			t.Errorf("%s with the database gone: kind %v, message %q (%v); want unavailable, %q",
				name, k, gatehouse.ErrorMessage(err), err, sqldb.MsgUnavailable)
		}
	}
	p.restore()
	for name, call := range calls {
		if err := call(); err != nil {
			t.Errorf("%s after the database came back: %v", name, err)
		}
	}
	// A server that is not there at all when the store opens.
	p.cut()
	_, err = sqldb.Open(ctx, u.String())
	if k := gatehouse.ErrorKind(err); k != gatehouse.Unavailable {
		t.Errorf("Open with the database gone: kind %v (%v), want unavailable", k, err)
	}
}

// cutProxy forwards TCP connections to a server until it is cut.
type cutProxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	p.listen("127.0.0.1:0")
	p.addr = p.ln.Addr().String()
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) listen(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
}

func (p *cutProxy) forward(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[up] = true, true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// cut closes the listener, so that new connections are refused, and
// resets every open connection.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // a reset, as a crashed server gives
		}
		c.Close()
	}
}

// restore listens again on the same address.
func (p *cutProxy) restore() {
	var err error
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			ln.Close()
			p.listen(p.addr)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("listen on %s again: %v", p.addr, errors.Unwrap(err))
}
