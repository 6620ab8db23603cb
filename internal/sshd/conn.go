package sshd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gitrepo"
	"github.com/gatehouse/gatehouse/internal/pushprotect"
	"github.com/gatehouse/gatehouse/internal/service"
)

// conn is one client connection.
type conn struct {
	srv    *Server
	raw    net.Conn
	idle   *idleConn
	client string // clientKey of the remote address

	// Set under srv.mu: handshaking until authenticated, then ssh and the
	// actor, which never change afterwards.
	handshaking bool
	ssh         *ssh.ServerConn
	actor       *gatehouse.Actor

	running  atomic.Int32 // git processes running for the connection
	sessions atomic.Int32
	once     sync.Once
}

// close ends the connection at once; its sessions' git processes are
// killed as their context ends.
func (c *conn) close() { c.once.Do(func() { c.raw.Close() }) }

// idleConn closes a connection that moves no byte for idle, once enabled
// after the handshake (which has its own, fixed deadline). Every read and
// write pushes the deadline on, at most every idle/10 to keep the cost of
// a busy transfer negligible.
type idleConn struct {
	net.Conn
	idle    time.Duration
	enabled atomic.Bool
	last    atomic.Int64 // UnixNano of the last push
}

func (c *idleConn) enable() {
	c.enabled.Store(true)
	c.extend()
}

func (c *idleConn) extend() {
	if !c.enabled.Load() {
		return
	}
	now := time.Now()
	if now.UnixNano()-c.last.Load() < int64(c.idle/10) {
		return
	}
	c.last.Store(now.UnixNano())
	c.Conn.SetDeadline(now.Add(c.idle))
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.extend()
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.extend()
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.extend()
	return c.Conn.Write(p)
}

// handle runs one connection from handshake to close.
func (s *Server) handle(c *conn) {
	defer s.release(c)
	defer c.close()
	c.raw.SetDeadline(time.Now().Add(s.lim.HandshakeTimeout))
	sc, chans, reqs, err := ssh.NewServerConn(c.idle, s.config)
	if err != nil {
		// Failed logins are routine on an SSH port; the details of each
		// refusal are the client's.
		s.log.Debug("SSH handshake failed", "client", remoteIP(c.raw.RemoteAddr()), "err", err)
		return
	}
	actor, _ := sc.Permissions.ExtraData[actorKey{}].(*gatehouse.Actor)
	if actor == nil {
		sc.Close()
		return
	}
	c.raw.SetDeadline(time.Time{})
	c.idle.enable()
	s.authenticated(c, sc, actor)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	{
		uctx, ucancel := context.WithTimeout(ctx, 5*time.Second)
		s.cfg.Service.KeyUsed(uctx, actor)
		ucancel()
	}
	go ssh.DiscardRequests(reqs)
	go s.keepalive(ctx, c)

	var sessions sync.WaitGroup
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.Prohibited, "Gatehouse serves git only: port forwarding and other channels are not available.")
			continue
		}
		if int(c.sessions.Load()) >= s.lim.Sessions {
			nch.Reject(ssh.ResourceShortage, fmt.Sprintf("at most %d sessions at once on one connection", s.lim.Sessions))
			continue
		}
		c.sessions.Add(1)
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			defer c.sessions.Add(-1)
			s.session(ctx, c, nch)
		}()
	}
	// The connection is gone: stop its git processes.
	cancel()
	sessions.Wait()
}

// keepalive pings the client every third of the idle timeout while git
// runs for it: git may compute for a while without a byte either way,
// and a live client's answer is what keeps the connection from idling
// out. A client that stopped answering is closed by the idle deadline.
func (s *Server) keepalive(ctx context.Context, c *conn) {
	t := time.NewTicker(s.lim.IdleTimeout / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if c.running.Load() == 0 {
			continue
		}
		if _, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil); err != nil {
			return
		}
	}
}

// session serves one session channel: environment requests, then one
// exec (a git command) or shell (the greeting).
func (s *Server) session(ctx context.Context, c *conn, nch ssh.NewChannel) {
	ch, reqs, err := nch.Accept()
	if err != nil {
		return
	}
	defer ch.Close()
	protocol := ""
	for req := range reqs {
		switch req.Type {
		case "env":
			var kv struct{ Name, Value string }
			ok := ssh.Unmarshal(req.Payload, &kv) == nil && kv.Name == "GIT_PROTOCOL" && validProtocol(kv.Value)
			if ok {
				protocol = kv.Value
			}
			reply(req, ok)
			continue
		case "shell":
			reply(req, true)
			go drain(reqs)
			s.greet(ctx, c, ch)
			exit(ch, 1)
			return
		case "exec":
			var cmd struct{ Command string }
			if ssh.Unmarshal(req.Payload, &cmd) != nil {
				reply(req, false)
				continue
			}
			reply(req, true)
			go drain(reqs)
			exit(ch, s.exec(ctx, c, ch, cmd.Command, protocol))
			return
		case "subsystem":
			reply(req, true)
			go drain(reqs)
			fmt.Fprintf(ch.Stderr(), "ERROR: %s\n", ErrNotGit)
			exit(ch, 1)
			return
		}
		// pty-req, x11-req, agent forwarding, signals: nothing of it.
		reply(req, false)
	}
}

func reply(req *ssh.Request, ok bool) {
	if req.WantReply {
		req.Reply(ok, nil)
	}
}

// drain refuses the requests that come after the command (window-change,
// signal): a channel's requests must be read or the connection stalls.
func drain(reqs <-chan *ssh.Request) {
	for req := range reqs {
		reply(req, false)
	}
}

// exit ends a session with status: end of output, exit-status, close.
func exit(ch ssh.Channel, status int) {
	ch.CloseWrite()
	ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(status)}))
}

// greet answers ssh -T git@host as GitHub does, on stderr.
func (s *Server) greet(ctx context.Context, c *conn, ch ssh.Channel) {
	name, err := s.cfg.Service.KeyHolder(ctx, c.actor)
	if err != nil || name == "" {
		name = "there"
	}
	fmt.Fprintf(ch.Stderr(), "Hi %s! You've successfully authenticated, but Gatehouse does not provide shell access.\n", name)
}

// exec runs one git command and returns its exit status.
func (s *Server) exec(ctx context.Context, c *conn, ch ssh.Channel, line, protocol string) int {
	start := time.Now()
	id := newID()
	log := s.log.With("session", id, "client", remoteIP(c.raw.RemoteAddr()), "holder", holder(c.actor))
	stderr := ch.Stderr()
	cmd, err := ParseCommand(line)
	if err != nil {
		log.Info("SSH command refused", "reason", err)
		fmt.Fprintf(stderr, "ERROR: %s\n", err)
		return 1
	}
	log = log.With("service", string(cmd.Service), "repo", cmd.Owner+"/"+cmd.Name)
	counted := &countedChannel{Channel: ch}
	outcome := "refused"
	if s.cfg.OnCommand != nil {
		defer func() {
			s.cfg.OnCommand(CommandResult{Service: cmd.Service, Outcome: outcome, Sent: atomic.LoadInt64(&counted.sent), Received: atomic.LoadInt64(&counted.received)})
		}()
	}
	repo, err := s.cfg.Service.SSHRepo(ctx, c.actor, cmd.Owner, cmd.Name, cmd.action)
	if err != nil {
		if msg := refusal(err); msg != "" {
			log.Info("SSH git command refused", "kind", gatehouse.ErrorKind(err).String())
			fmt.Fprintf(stderr, "ERROR: %s\n", msg)
		} else {
			outcome = "error"
			log.Error("SSH git command failed", "err", err)
			fmt.Fprintf(stderr, "ERROR: Internal server error (session %s).\n", id)
		}
		return 1
	}
	if !s.cfg.Repos.Exists(repo.ID) {
		outcome = "error"
		log.Error("repository missing on disk", "id", repo.ID)
		fmt.Fprintf(stderr, "ERROR: The repository's storage is missing; tell the administrator (session %s).\n", id)
		return 1
	}
	release, busy := s.procs.acquire(ctx, c.client, s.lim)
	if busy != "" {
		log.Warn("git process limit reached", "reason", busy)
		fmt.Fprintf(stderr, "ERROR: %s\n", busy)
		return 1
	}
	opts := gitrepo.ServeOptions{Protocol: protocol, Stdin: counted.reader(), Stdout: counted.writer(), Stderr: stderr}
	if cmd.Service == gitrepo.ReceivePack {
		// What push protection's pre-receive hook reports and records.
		p := pushprotect.Push{Repo: repo.FullName(), Pusher: pusher(c.actor), PusherID: c.actor.UserID(), IP: c.actor.ClientIP(), RequestID: "ssh-" + id}
		opts.Env = p.Env()
	}
	var refsBefore string
	if cmd.Service == gitrepo.ReceivePack {
		// receive-pack exits 0 when it refuses every update (unpack
		// failed, the hook said no): only a push that moved a ref is one.
		refsBefore, _ = s.cfg.Repos.Refs(ctx, repo.ID)
	}
	c.running.Add(1)
	status, err := s.cfg.Repos.Serve(ctx, repo.ID, cmd.Service, opts)
	c.running.Add(-1)
	release()
	var packBusy *gitrepo.BusyError
	switch {
	case errors.As(err, &packBusy):
		// Every pack generation slot stayed taken: git shows what comes
		// on stderr, whatever upload-pack had sent.
		log.Warn("pack generation limit reached", "limit", packBusy.Generations)
		fmt.Fprintf(stderr, "ERROR: %s\n", packBusy.Message(packRetrySeconds))
		return 1
	case err != nil && ctx.Err() != nil:
		outcome = "error"
		log.Info("SSH git command stopped: the connection ended", "duration", time.Since(start))
		return 1
	case err != nil:
		outcome = "error"
		log.Warn("SSH git command failed", "err", err)
		fmt.Fprintf(stderr, "ERROR: git %s failed (session %s).\n", cmd.Service, id)
		return 1
	}
	outcome = "ok"
	if status != 0 {
		outcome = "error"
	}
	if status == 0 && cmd.Service == gitrepo.ReceivePack {
		// Bookkeeping must not depend on the client staying connected.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if after, err := s.cfg.Repos.Refs(bctx, repo.ID); err != nil || after != refsBefore {
			s.cfg.Service.RecordSSHPush(bctx, c.actor, repo)
			if s.cfg.OnPush != nil {
				s.cfg.OnPush(bctx, repo, c.actor)
			}
		}
		cancel()
	}
	log.Info("SSH git command", "status", status, "duration", time.Since(start))
	return status
}

// packRetrySeconds is when a fetch refused for lack of a pack generation
// slot is told to try again.
const packRetrySeconds = 10

// refusal words a refused repository decision for git's user, or returns
// "" for a failure that is not a refusal.
func refusal(err error) string {
	switch {
	case errors.Is(err, service.ErrUnknownKey):
		return "This SSH key is no longer registered."
	case errors.Is(err, service.ErrSuspended):
		return "This account is suspended."
	}
	switch gatehouse.ErrorKind(err) {
	case gatehouse.NotFound, gatehouse.Unauthenticated:
		// An actor that got here authenticated; Unauthenticated could
		// only mean a rule that took it for anonymous: say no more than
		// for a repository it may not see.
		return "Repository not found."
	case gatehouse.Forbidden:
		return gatehouse.ErrorMessage(err)
	case gatehouse.Unavailable:
		return "The server cannot check access right now; try again shortly."
	}
	return ""
}

// pusher names the actor for push protection's report and e-mail.
func pusher(a *gatehouse.Actor) string {
	if a.DeployKey != nil {
		return fmt.Sprintf("deploy key %q", a.DeployKey.Title)
	}
	return a.Login()
}

// validProtocol accepts a GIT_PROTOCOL value only if it is made of the
// characters git itself uses ("version=2", "key=value:key=value").
func validProtocol(v string) bool {
	if v == "" || len(v) > 256 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("=:._-,", c) >= 0) {
			return false
		}
	}
	return true
}

// slots counts the running git processes, in all and by client; a
// command beyond the limits waits for a slot.
type slots struct {
	mu       sync.Mutex
	total    int
	byClient map[string]int
	wake     chan struct{} // closed and replaced at every release
}

// acquire takes a slot for client, waiting up to lim.ProcessWait. It
// returns the function that gives the slot back, or why there is none.
func (p *slots) acquire(ctx context.Context, client string, lim Limits) (func(), string) {
	timer := time.NewTimer(lim.ProcessWait)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if p.total < lim.Processes && p.byClient[client] < lim.ProcessesPerClient {
			p.total++
			p.byClient[client]++
			p.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { p.release(client) }) }, ""
		}
		perClient := p.total < lim.Processes
		wake := p.wake
		p.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
			if perClient {
				return nil, fmt.Sprintf("Too many git operations from your address are running at once (the limit is %d); try again when they have finished.", lim.ProcessesPerClient)
			}
			return nil, fmt.Sprintf("The server is running as many git operations as it allows (%d); try again in a few seconds.", lim.Processes)
		case <-ctx.Done():
			return nil, "The connection ended."
		}
	}
}

func (p *slots) release(client string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total--
	if p.byClient[client]--; p.byClient[client] <= 0 {
		delete(p.byClient, client)
	}
	close(p.wake)
	p.wake = make(chan struct{})
}

// countedChannel counts git's bytes each way on a session's channel.
// The stdin side may still be reading when the command has ended, so
// the counts are atomic.
type countedChannel struct {
	ssh.Channel
	sent, received int64
}

type countedReader struct{ c *countedChannel }
type countedWriter struct{ c *countedChannel }

func (c *countedChannel) reader() io.Reader { return countedReader{c} }
func (c *countedChannel) writer() io.Writer { return countedWriter{c} }

func (r countedReader) Read(p []byte) (int, error) {
	n, err := r.c.Channel.Read(p)
	atomic.AddInt64(&r.c.received, int64(n))
	return n, err
}

func (w countedWriter) Write(p []byte) (int, error) {
	n, err := w.c.Channel.Write(p)
	atomic.AddInt64(&w.c.sent, int64(n))
	return n, err
}
