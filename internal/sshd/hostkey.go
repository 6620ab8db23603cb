package sshd

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"
)

// hostKeyFiles are the host keys of the server, by file name, as OpenSSH
// names its own: an Ed25519 key, which every current client prefers, and
// an RSA key (3072 bits, OpenSSH's default) for clients without Ed25519.
var hostKeyFiles = []struct {
	file string
	gen  func() (crypto.Signer, error)
}{
	{"ssh_host_ed25519_key", func() (crypto.Signer, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
	{"ssh_host_rsa_key", func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 3072) }},
}

// HostKeys returns the server's host keys, kept in dir (DATA/ssh). Keys
// missing there are generated once and written in OpenSSH's format, the
// private key readable by the owner only and its .pub beside it; from then
// on the same keys are read at every start, so that clients' known_hosts
// stay valid. Several processes starting at once agree on one key: a new
// key is linked into place only if none is there, else the one there wins.
func HostKeys(dir string) ([]ssh.Signer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create host key directory: %w", err)
	}
	var signers []ssh.Signer
	for _, hk := range hostKeyFiles {
		path := filepath.Join(dir, hk.file)
		s, err := readHostKey(path)
		if errors.Is(err, fs.ErrNotExist) {
			if err = writeHostKey(path, hk.gen); err == nil {
				s, err = readHostKey(path)
			}
		}
		if err != nil {
			return nil, err
		}
		if err := writePublic(path+".pub", s.PublicKey()); err != nil {
			return nil, err
		}
		signers = append(signers, s)
	}
	return signers, nil
}

func readHostKey(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("host key %s is readable by others (mode %o): chmod 600 it", path, fi.Mode().Perm())
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("host key %s: %w", path, err)
	}
	return s, nil
}

// writeHostKey generates a key and links it into place at path unless a
// key is there already (which is then no error: the caller reads it).
func writeHostKey(path string, gen func() (crypto.Signer, error)) error {
	k, err := gen()
	if err != nil {
		return fmt.Errorf("generate host key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(k, "")
	if err != nil {
		return fmt.Errorf("encode host key: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hostkey-*")
	if err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return fmt.Errorf("write host key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write host key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write host key: %w", err)
	}
	// CreateTemp made the file 0600. Link, unlike rename, fails when the
	// name exists: a process that lost the race keeps the winner's key.
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write host key: %w", err)
	}
	return nil
}

// writePublic keeps path holding pub in authorized_keys form, for the
// operator to publish (ssh-keygen -lf path prints the fingerprint).
func writePublic(path string, pub ssh.PublicKey) error {
	want := ssh.MarshalAuthorizedKey(pub)
	if have, err := os.ReadFile(path); err == nil && string(have) == string(want) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".hostkey-*.pub")
	if err != nil {
		return fmt.Errorf("write host public key: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(want)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write host public key: %w", err)
	}
	return nil
}
