package testenv

import (
	"syscall"
	"time"
)

// Kill ends the server with SIGKILL, as a crash or the OOM killer would:
// no shutdown code runs. It waits until the process has exited and its
// log is read. The git processes the server started run in process groups
// of their own and are not signalled: what they do once their parent is
// gone is for the caller to look at. Kill fails the test if the process
// is still there after ten seconds.
func (s *Server) Kill() {
	s.t.Helper()
	if s.Cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.Cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.t.Fatalf("gatehouse serve (pid %d) still runs 10s after SIGKILL", s.Pid())
	}
}

// Exited reports whether the server process has ended.
func (s *Server) Exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}
