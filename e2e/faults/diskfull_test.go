package faults_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/testenv"
)

// diskSize is the size of the filesystem the full-disk test mounts as the
// server's data dir, and diskRoom how much of it is left free before the
// push that fills it.
const (
	diskSize = 20 << 20
	diskRoom = 4 << 20
)

// mountSmallDisk mounts a tmpfs of diskSize bytes on a new directory and
// unmounts it when the test ends (after the servers it holds have been
// stopped, since cleanups run last-registered first). Mounting needs root
// (CAP_SYS_ADMIN): without it the test fails under CI=true, which runs as
// root, and is skipped loudly elsewhere.
func mountSmallDisk(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the full-disk test mounts a small filesystem and so needs root (CI runs it as root)")
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=20m,mode=0700"); err != nil {
		testenv.Missing(t, "the full-disk test cannot mount a 20 MB tmpfs ("+err.Error()+"): it needs root with CAP_SYS_ADMIN (CI runs it so)")
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			// Something still holds it: detach it so that the temporary
			// directory can go, and say so.
			t.Errorf("unmount %s: %v (detaching it)", dir, err)
			syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil || int64(st.Blocks)*st.Bsize != diskSize {
		t.Fatalf("the tmpfs on %s has %d bytes (%v), want %d", dir, int64(st.Blocks)*st.Bsize, err, diskSize)
	}
	return dir
}

// free returns the bytes available on the filesystem of dir.
func free(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// TestDiskFullPush runs the server with its data dir (repositories and the
// SQLite database) on a 20 MB filesystem, fills it but for 4 MB, and
// pushes 8 MB of new history. The push must fail with a message git
// shows; afterwards the repository must be sound and unchanged (git fsck,
// the refs), the database must still list and serve the repository with
// pushed_at unchanged, the space the push took must be given back, and
// once space is freed a smaller push must work.
func TestDiskFullPush(t *testing.T) {
	disk := mountSmallDisk(t)
	g := testenv.NewGit(t, "")
	s := testenv.Start(t, testenv.Options{Data: filepath.Join(disk, "data")})
	s.CreateUser("alice", false)
	s.Admin("repo", "create", "alice/big", "--private")
	tok := s.Token("alice", "push", "repo", "")
	url := testenv.WithCredentials(s.RepoURL("alice/big"), "alice", tok)
	id := repo(t, s, "alice/big", tok).ID
	dir := repoDir(s.Data, id)

	work := t.TempDir()
	g.MustRun(work, "init", "-q", "-b", "main")
	seed := commitRandom(t, g, work, "seed", 1, 1, 64<<10)
	g.MustRun(work, "push", "-q", url, "main")
	// Let the repack that follows a push run before the disk fills up.
	waitRepacked(t, dir, 15*time.Second)
	before := repo(t, s, "alice/big", tok)
	if before.PushedAt == "" {
		t.Fatal("the first push left pushed_at empty")
	}

	// Fill the disk but for diskRoom.
	ballast := filepath.Join(disk, "ballast")
	fillTo(t, ballast, free(t, disk)-diskRoom)
	room := free(t, disk)

	commitRandom(t, g, work, "big", 2, 4, 2<<20)
	r := g.Run(work, "push", url, "main")
	t.Logf("git push with %d KiB free:\n%s", room>>10, r.Stderr)
	if r.Err == nil {
		t.Fatalf("a push of 8 MiB with %d KiB free succeeded", room>>10)
	}
	if !strings.Contains(r.Stderr, "remote") || !strings.Contains(r.Stderr, "No space left on device") {
		t.Errorf("git push does not show the server's reason (no space left on device):\n%s", r.Stderr)
	}
	if strings.Contains(r.Stderr, "The requested URL returned error: 500") {
		t.Errorf("git push got a bare 500:\n%s", r.Stderr)
	}

	// The repository: sound, and main where it was.
	waitNoProcesses(t, dir, 10*time.Second)
	refs := checkRepo(t, g, dir)
	if refs["refs/heads/main"] != seed {
		t.Errorf("after the failed push main is %s, want %s", refs["refs/heads/main"], seed)
	}
	if q, tmp, locks := leftovers(dir); len(q)+len(tmp)+len(locks) > 0 {
		t.Errorf("the failed push left in the repository: quarantines %v, temporary files %v, locks %v", q, tmp, locks)
	}
	if got := free(t, disk); got < room-256<<10 {
		t.Errorf("the failed push kept %d KiB of the disk", (room-got)>>10)
	}
	// With no byte left at all, the push fails as clearly.
	topUp(t, ballast)
	r = g.Run(work, "push", url, "main")
	t.Logf("git push with the disk full:\n%s", r.Stderr)
	if r.Err == nil || !strings.Contains(r.Stderr, "remote") || !strings.Contains(r.Stderr, "No space left on device") {
		t.Errorf("git push on a full disk: %v, want a failure that shows the server's reason:\n%s", r.Err, r.Stderr)
	}
	waitNoProcesses(t, dir, 10*time.Second)
	checkRepo(t, g, dir)
	// The database: the repository is listed and served, pushed_at is
	// unchanged, while the disk is still full.
	after := repo(t, s, "alice/big", tok)
	if after.PushedAt != before.PushedAt {
		t.Errorf("pushed_at moved from %s to %s for a push that failed", before.PushedAt, after.PushedAt)
	}
	code, body := call(t, s, "GET", "/api/v3/user/repos", tok)
	if code != 200 || !strings.Contains(body, `"full_name":"alice/big"`) {
		t.Errorf("GET /api/v3/user/repos = %d, alice/big not listed:\n%.500s", code, body)
	}
	if got := remoteRef(t, g, url, "refs/heads/main"); got != seed {
		t.Errorf("the server serves main at %s, want %s", got, seed)
	}

	// Space freed, a smaller push works, and records itself.
	if err := os.Remove(ballast); err != nil {
		t.Fatal(err)
	}
	g.MustRun(work, "reset", "-q", "--hard", seed)
	small := commitRandom(t, g, work, "small", 3, 1, 1<<20)
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second))) // pushed_at is given to the second
	if r := g.Run(work, "push", url, "main"); r.Err != nil {
		t.Fatalf("the push after space was freed failed: %v\n%s", r.Err, r.Stderr)
	}
	if got := remoteRef(t, g, url, "refs/heads/main"); got != small {
		t.Errorf("after the smaller push main is %s, want %s", got, small)
	}
	if now := repo(t, s, "alice/big", tok).PushedAt; now == before.PushedAt {
		t.Errorf("pushed_at stayed %s after the smaller push", now)
	}
	checkRepo(t, g, dir)
	s.Stop()
}

// fillTo writes a file of n bytes.
func fillTo(t *testing.T, path string, n int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for ; n > 0; n -= int64(len(buf)) {
		if _, err := f.Write(buf[:min(n, int64(len(buf)))]); err != nil {
			t.Fatal(err)
		}
	}
}

// topUp appends to path until the disk is full.
func topUp(t *testing.T, path string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return
		}
	}
}

// waitRepacked waits until the repository in dir has been repacked into
// one pack with a bitmap, as the server does shortly after a push.
func waitRepacked(t *testing.T, dir string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		bitmaps, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap"))
		if len(bitmaps) > 0 && len(processesIn(dir)) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not repacked within %v", dir, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
