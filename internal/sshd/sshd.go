// Package sshd serves git over SSH: clone, fetch, push and git archive
// --remote with public keys, through the same service — the credential →
// actor step, the one authorization decision, push protection — as git
// over HTTPS.
//
// Only public-key authentication exists. A password or keyboard-interactive
// attempt is refused with a banner saying that SSH takes a key and that
// tokens work over HTTPS only; tokens are never checked here. An
// authenticated client may run the three commands of the route table and
// nothing else; a shell request (ssh -T git@host) is greeted by name and
// ends with status 1, as GitHub does.
//
// Unauthenticated clients cannot hold the server: connections are capped
// in all and per client address, the handshake (key exchange and
// authentication) must finish within a deadline, and a connection that
// moves no byte for the idle timeout is closed (while git runs, the server
// pings the client so that a live one stays). Git processes are capped too;
// beyond the cap a command waits a while for its turn, then is refused.
//
// Sessions end at once when their key is deleted or its user suspended,
// on any node: Serve runs the service's WatchSessions over the server's
// registry of open connections.
package sshd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/service"
)

// Limits bound what clients may hold. Zero fields take the defaults.
type Limits struct {
	// Connections is the most open connections in all (default 512);
	// PerClient for one client address, IPv6 addresses counted by /64
	// (default 64). Beyond them a new connection is closed at once.
	Connections, PerClient int
	// Handshakes is the most connections at once still in the handshake,
	// not yet authenticated (default 128): key exchanges cost CPU, and
	// these clients are nobody yet.
	Handshakes int
	// HandshakeTimeout is how long a client has from connecting to being
	// authenticated (default 10 s).
	HandshakeTimeout time.Duration
	// IdleTimeout closes a connection that moved no byte for this long
	// (default 60 s). While git runs the server pings the client every
	// third of it, so only a client that stopped answering is closed.
	IdleTimeout time.Duration
	// Sessions is the most sessions (commands) at once on one connection
	// (default 10, OpenSSH's MaxSessions).
	Sessions int
	// Processes is the most git processes at once for the server, and
	// ProcessesPerClient for one client address (defaults 64 and 8, as
	// for HTTPS). A command beyond them waits up to ProcessWait (default
	// 30 s) for a slot, then is refused in words git shows.
	Processes, ProcessesPerClient int
	ProcessWait                   time.Duration
}

func orDefault[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

func (l Limits) withDefaults() Limits {
	l.Connections = orDefault(l.Connections, 512)
	l.PerClient = orDefault(l.PerClient, 64)
	l.Handshakes = orDefault(l.Handshakes, 128)
	l.HandshakeTimeout = orDefault(l.HandshakeTimeout, 10*time.Second)
	l.IdleTimeout = orDefault(l.IdleTimeout, 60*time.Second)
	l.Sessions = orDefault(l.Sessions, 10)
	l.Processes = orDefault(l.Processes, 64)
	l.ProcessesPerClient = orDefault(l.ProcessesPerClient, 8)
	l.ProcessWait = orDefault(l.ProcessWait, 30*time.Second)
	return l
}

// Config is what a Server needs.
type Config struct {
	Service *service.Service
	Repos   *gitrepo.Dir
	// HostKeys sign the handshake (see HostKeys). At least one.
	HostKeys []ssh.Signer
	Log      *slog.Logger
	Limits   Limits
	// OnPush, if set, runs after a successful receive-pack, after the
	// service recorded the push.
	OnPush func(ctx context.Context, repo *gatehouse.Repo, actor *gatehouse.Actor)
	// OnCommand, if set, hears of every git command a session asked
	// for, once it has ended (see CommandResult).
	OnCommand func(CommandResult)
	// WatchInterval is how often the invalidation log is read to end
	// sessions of deleted keys and suspended users (default 250 ms).
	WatchInterval time.Duration
}

// CommandResult is a git command over SSH, as the server ended it.
type CommandResult struct {
	Service gitrepo.Service
	// Outcome is "ok" when git ran to a successful end, "refused" when
	// the server said no before git ran (the key, the repository, the
	// process or pack generation limits), "error" when git failed or the
	// connection ended before git did.
	Outcome string
	// Sent and Received count git's bytes on the channel: what git
	// wrote to the client (advertisement, pack, report) and what the
	// client sent it. stderr is not counted.
	Sent, Received int64
}

// Server is an SSH server for git. Build it with New; it serves one
// listener at a time.
type Server struct {
	cfg    Config
	lim    Limits
	log    *slog.Logger
	config *ssh.ServerConfig

	mu         sync.Mutex
	ln         net.Listener
	conns      map[*conn]struct{}
	byClient   map[string]int
	handshakes int
	closing    bool
	done       chan struct{} // closed when the last connection ended after closing
	stopWatch  context.CancelFunc

	procs slots
	wg    sync.WaitGroup

	// Refusals at the connection limits are logged at most once a second,
	// with a count: a flood must not flood the log too.
	refused   atomic.Int64
	refusedAt atomic.Int64 // UnixNano of the last report
}

// logRefusal reports whether a refusal may be logged now.
func (s *Server) logRefusal() bool {
	now := time.Now().UnixNano()
	last := s.refusedAt.Load()
	return now-last >= int64(time.Second) && s.refusedAt.CompareAndSwap(last, now)
}

// New checks cfg and builds the server.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Service == nil:
		return nil, errors.New("sshd: Config.Service is required")
	case cfg.Repos == nil:
		return nil, errors.New("sshd: Config.Repos is required")
	case len(cfg.HostKeys) == 0:
		return nil, errors.New("sshd: Config.HostKeys is required")
	}
	s := &Server{cfg: cfg, lim: cfg.Limits.withDefaults(), log: cfg.Log,
		conns: map[*conn]struct{}{}, byClient: map[string]int{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.procs.byClient = map[string]int{}
	s.procs.wake = make(chan struct{})
	s.config = s.serverConfig()
	return s, nil
}

// Messages of refused authentication, shown by OpenSSH as a banner.
const (
	msgKeysOnly = "Gatehouse takes SSH public keys only: passwords and personal access tokens are refused over SSH.\r\n" +
		"Add your public key under Settings > SSH keys, or use the https:// URL with a token (tokens work over HTTPS only).\r\n"
	msgSuspended   = "This account is suspended.\r\n"
	msgUnavailable = "The server cannot check SSH keys right now; try again shortly.\r\n"
)

var errKeysOnly = errors.New("password and keyboard-interactive authentication refused")

// actorKey holds the actor in the Permissions of an authenticated key.
type actorKey struct{}

func (s *Server) serverConfig() *ssh.ServerConfig {
	c := &ssh.ServerConfig{
		ServerVersion: "SSH-2.0-Gatehouse",
		// OpenSSH's default; a client offering more keys than this before
		// the right one should pick it with IdentitiesOnly.
		MaxAuthTries: 6,
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			ctx, cancel := context.WithTimeout(context.Background(), s.lim.HandshakeTimeout)
			defer cancel()
			actor, err := s.cfg.Service.AuthenticateKey(ctx, key, remoteIP(meta.RemoteAddr()))
			switch {
			case err == nil:
				return &ssh.Permissions{ExtraData: map[any]any{actorKey{}: actor}}, nil
			case errors.Is(err, service.ErrSuspended):
				return nil, &ssh.BannerError{Err: err, Message: msgSuspended}
			case gatehouse.IsKind(err, gatehouse.Unauthenticated):
				return nil, err
			case gatehouse.IsKind(err, gatehouse.Unavailable):
				s.log.Warn("SSH key lookup failed: the database is unavailable", "err", err, "client", remoteIP(meta.RemoteAddr()))
				return nil, &ssh.BannerError{Err: err, Message: msgUnavailable}
			}
			s.log.Error("SSH key lookup failed", "err", err, "client", remoteIP(meta.RemoteAddr()))
			return nil, err
		},
		PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
			// Never checked, never logged: a token typed as a password
			// goes nowhere.
			return nil, &ssh.BannerError{Err: errKeysOnly, Message: msgKeysOnly}
		},
		KeyboardInteractiveCallback: func(ssh.ConnMetadata, ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			return nil, &ssh.BannerError{Err: errKeysOnly, Message: msgKeysOnly}
		},
	}
	for _, k := range s.cfg.HostKeys {
		c.AddHostKey(k)
	}
	return c
}

// Serve accepts connections on ln until Shutdown or Close, and runs the
// session watch meanwhile and until the connections have ended. It returns
// nil after Shutdown or Close (once the connections ended), or the
// listener's error.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.ln = ln
	wctx, stop := context.WithCancel(context.Background())
	s.stopWatch = stop
	s.mu.Unlock()
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		s.cfg.Service.WatchSessions(wctx, s, s.cfg.WatchInterval)
	}()
	defer func() { stop(); <-watchDone }()
	// Sessions draining after Shutdown still end when their key is deleted.
	defer s.wg.Wait()

	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			if temporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log.Warn("SSH accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		c, why := s.admit(nc)
		if c == nil {
			nc.Close()
			if n := s.refused.Add(1); s.logRefusal() {
				s.log.Warn("SSH connection refused", "client", remoteIP(nc.RemoteAddr()), "reason", why, "refused_since_last_report", n)
				s.refused.Store(0)
			}
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

// temporary reports the accept errors worth retrying (too many open files
// and the like), as net/http's Serve does.
func temporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// admit counts a new connection against the limits, or says which one it
// would break.
func (s *Server) admit(nc net.Conn) (*conn, string) {
	client := clientKey(remoteIP(nc.RemoteAddr()))
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return nil, "shutting down"
	case len(s.conns) >= s.lim.Connections:
		return nil, fmt.Sprintf("%d connections open, the limit", len(s.conns))
	case s.byClient[client] >= s.lim.PerClient:
		return nil, fmt.Sprintf("%d connections open from this client, the limit", s.byClient[client])
	case s.handshakes >= s.lim.Handshakes:
		return nil, fmt.Sprintf("%d handshakes under way, the limit", s.handshakes)
	}
	c := &conn{srv: s, raw: nc, client: client, handshaking: true}
	c.idle = &idleConn{Conn: nc, idle: s.lim.IdleTimeout}
	s.conns[c] = struct{}{}
	s.byClient[client]++
	s.handshakes++
	return c, ""
}

// release forgets a connection that ended.
func (s *Server) release(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	if s.byClient[c.client]--; s.byClient[c.client] <= 0 {
		delete(s.byClient, c.client)
	}
	if c.handshaking {
		s.handshakes--
	}
	if s.closing && len(s.conns) == 0 && s.done != nil {
		close(s.done)
		s.done = nil
	}
}

// authenticated moves c out of the handshake count.
func (s *Server) authenticated(c *conn, sc *ssh.ServerConn, actor *gatehouse.Actor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.handshaking = false
	s.handshakes--
	c.ssh, c.actor = sc, actor
}

// EndSessions closes every open connection whose actor stale reports true
// for (service.SessionEnder). Connections still in the handshake have no
// actor yet: SSHRepo re-checks their key when their command starts.
func (s *Server) EndSessions(stale func(*gatehouse.Actor) bool) int {
	type session struct {
		c     *conn
		actor *gatehouse.Actor
	}
	s.mu.Lock()
	var open []session
	for c := range s.conns {
		if c.actor != nil {
			open = append(open, session{c, c.actor})
		}
	}
	s.mu.Unlock()
	n := 0
	for _, o := range open {
		if stale(o.actor) {
			s.log.Info("SSH connection ended: its key was deleted or its user suspended", "client", o.c.client, "holder", holder(o.actor))
			o.c.close()
			n++
		}
	}
	return n
}

// Open returns how many connections are open, handshakes included.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown stops accepting connections and closes idle ones at once, then
// waits for running commands to finish until ctx ends, when it closes the
// rest. It returns ctx's error if it had to.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
	}
	done := make(chan struct{})
	if len(s.conns) == 0 {
		close(done)
	} else {
		s.done = done
	}
	var idle []*conn
	for c := range s.conns {
		if c.running.Load() == 0 {
			idle = append(idle, c)
		}
	}
	s.mu.Unlock()
	for _, c := range idle {
		c.close()
	}
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		s.closeAll()
	}
	s.wg.Wait()
	return err
}

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	if s.ln != nil {
		s.ln.Close()
	}
	s.mu.Unlock()
	s.closeAll()
	s.wg.Wait()
	return nil
}

func (s *Server) closeAll() {
	s.mu.Lock()
	var all []*conn
	for c := range s.conns {
		all = append(all, c)
	}
	s.mu.Unlock()
	for _, c := range all {
		c.close()
	}
}

// remoteIP is the address part of a connection's remote address.
func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// clientKey is what per-client limits count: the address, or its /64 for
// IPv6, where one client commonly holds a whole /64.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		return netip.PrefixFrom(a, 64).Masked().String()
	}
	return a.String()
}

// holder names an actor for logs: a login or a deploy key's ID and title.
func holder(a *gatehouse.Actor) string {
	if a.DeployKey != nil {
		return fmt.Sprintf("deploy key %d %q", a.DeployKey.ID, a.DeployKey.Title)
	}
	return a.Login()
}

// newID returns a short random identifier for a session, which refusals
// and logs name so that a user's report can be found.
func newID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CloneURL is the SSH clone URL of repository fullName ("alice/project")
// on a server reached at addr (host or host:port, as --ssh-external sets
// it): the scp-like git@host:alice/project.git on port 22, else
// ssh://git@host:port/alice/project.git, which is the only form that can
// carry a port.
func CloneURL(addr, fullName string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, "22"
	}
	if port == "22" {
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return "git@" + host + ":" + fullName + ".git"
	}
	return "ssh://git@" + net.JoinHostPort(host, port) + "/" + fullName + ".git"
}
