package gitrepo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// errUncacheable says that a request or repository state is served
// without the cache: the pack is made by pack-objects as if there were no
// cache.
var errUncacheable = errors.New("gitrepo: pack not cacheable")

// maxPackRequest is the most of pack-objects' input read to make a key. A
// clone's is a line per want; more than this is a fetch with a long list
// of haves, which is not cached anyway.
const maxPackRequest = 1 << 20

// packKey is the cache key of a pack-objects request for the repository
// at dir: the SHA-256 of everything that decides the bytes pack-objects
// writes — the key format, git's version (salt), the repository, the
// command line (less --progress, which only changes stderr), the request
// (wants, shallow boundaries), the refs (--include-tag adds the tags that
// point into the pack), the repository's config and its objects' state
// (the names of its packs, which are hashes of their content, the
// commit-graph, each loose object directory's modification time). It is
// errUncacheable for a request that lists haves (a fetch: each client's
// differ, and a cache of them would push out the clones) and for
// repositories whose objects come from elsewhere (alternates, a shallow
// repository).
//
// A key that failed to notice a change could never widen what is served:
// the pack is what pack-objects made for exactly these wants and options,
// so it holds only objects reachable from them (and tags pointing at
// them). The objects' state is there so that a pack is the one git would
// send now, delta choices included.
func packKey(dir string, argv []string, in []byte, salt string) (string, error) {
	if _, after, ok := bytes.Cut(in, []byte("\n--not\n")); !ok || len(bytes.TrimSpace(after)) > 0 {
		return "", errUncacheable
	}
	return stateKey(dir, salt, "gatehouse pack cache 1", func(field func(string, []byte)) {
		for _, a := range argv {
			if a != "--progress" {
				field("arg", []byte(a))
			}
		}
		field("stdin", in)
	})
}

// stateKey is the SHA-256 of format, git's version (salt), the repository
// at dir, what request adds, and the repository's state: its config, its
// refs and its objects' state. It is errUncacheable when the state cannot
// be read as it must be.
func stateKey(dir, salt, format string, request func(field func(string, []byte))) (string, error) {
	for _, p := range []string{"shallow", "objects/info/alternates", "objects/info/http-alternates"} {
		if _, err := os.Lstat(filepath.Join(dir, p)); err == nil {
			return "", errUncacheable
		}
	}
	st, err := readRefFiles(dir)
	if err != nil {
		return "", errUncacheable
	}
	h := sha256.New()
	field := func(name string, v []byte) {
		fmt.Fprintf(h, "%s %d\n", name, len(v))
		h.Write(v)
	}
	field("format", []byte(format))
	field("git", []byte(salt))
	field("repository", []byte(dir))
	request(field)
	field("config", st.config)
	field("head", []byte(st.headTarget+" "+st.headOID))
	for _, r := range st.refs {
		field("ref", []byte(r.oid+" "+r.name))
	}
	if err := objectsState(filepath.Join(dir, "objects"), field); err != nil {
		return "", errUncacheable
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// objectsState feeds field with what changes when objects are added to,
// or repacked in, the object directory dir.
func objectsState(dir string, field func(string, []byte)) error {
	packs, err := os.ReadDir(filepath.Join(dir, "pack"))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	for _, e := range packs {
		name := e.Name()
		if strings.HasPrefix(name, "tmp_") || strings.HasPrefix(name, ".tmp-") {
			continue // being written: part of the state once renamed
		}
		field("pack", []byte(name))
	}
	stamp := func(kind, path, name string) {
		if fi, err := os.Lstat(path); err == nil {
			field(kind, []byte(name+" "+strconv.FormatInt(fi.Size(), 10)+" "+strconv.FormatInt(fi.ModTime().UnixNano(), 10)))
		}
	}
	for _, sub := range []string{"info", "info/commit-graphs"} {
		infos, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range infos {
			stamp("info", filepath.Join(dir, sub, e.Name()), sub+"/"+e.Name())
		}
	}
	top, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range top {
		if n := e.Name(); e.IsDir() && isLooseDir(n) {
			// A loose object added to the directory changes its time.
			stamp("loose", filepath.Join(dir, n), n)
		}
	}
	return nil
}

// isLooseDir reports whether name is that of a loose object directory
// ("00" to "ff").
func isLooseDir(name string) bool {
	if len(name) != 2 {
		return false
	}
	for i := 0; i < 2; i++ {
		if c := name[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
