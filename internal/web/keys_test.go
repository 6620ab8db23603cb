package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/authz"
	"github.com/gatehouse/gatehouse/internal/service"
)

// testKey returns a fixed ed25519 public key, made from seed, in
// authorized_keys form with comment, and its fingerprint as ssh-keygen -l
// prints it.
func testKey(t *testing.T, seed byte, comment string) (line, fingerprint string) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	line = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
	if comment != "" {
		line += " " + comment
	}
	return line, ssh.FingerprintSHA256(pub)
}

// inHTML is s as html/template writes it in a page's text.
func inHTML(s string) string { return strings.ReplaceAll(s, "+", "&#43;") }

// withoutComment is the key as the server stores and publishes it.
func withoutComment(line string) string {
	f := strings.Fields(line)
	return f[0] + " " + f[1]
}

// TestKeyPagesGolden renders Settings → SSH keys and a repository's deploy
// keys in their usual states, and the repository page with both clone
// URLs. Refresh with go test ./internal/web -run TestKeyPagesGolden -update.
func TestKeyPagesGolden(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	alice := e.user("alice", false)
	c := e.client()
	c.signIn("alice", true)

	golden(t, "keys_empty", c.get("/settings/keys").Body)
	golden(t, "key_new", c.get("/settings/keys/new").Body)
	res := c.post("/settings/keys/new", "/settings/keys", url.Values{"title": {"laptop"}, "key": {"ssh-ed25519 not-base64"}})
	wantStatus(t, "bad key", res, http.StatusUnprocessableEntity)
	golden(t, "key_new_errors", res.Body)

	laptop, laptopFP := testKey(t, 1, "alice@laptop")
	res = c.post("/settings/keys/new", "/settings/keys", url.Values{"title": {"laptop"}, "key": {laptop}})
	wantStatus(t, "add key", res, http.StatusSeeOther)
	if res.Location != "/settings/keys" {
		t.Fatalf("adding a key redirects to %q", res.Location)
	}
	page := c.follow("add key", res).Body
	mustContain(t, "key list after adding", page, inHTML(laptopFP), "SSH key laptop added.")
	golden(t, "keys_created", page)
	// No title: the key's comment names it.
	desktop, _ := testKey(t, 2, "alice@desktop")
	res = c.post("/settings/keys/new", "/settings/keys", url.Values{"key": {desktop}})
	mustContain(t, "key added without title", c.follow("add key without title", res).Body, "SSH key alice@desktop added.")
	keys, err := e.svc.ListKeys(ctx, system, alice.ID, gatehouse.Page{})
	if err != nil || len(keys) != 2 || keys[1].Title != "alice@desktop" {
		t.Fatalf("alice's keys: %+v, %v", keys, err)
	}
	if err := e.st.TouchKey(ctx, keys[0].ID, fixedNow.Add(-3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	golden(t, "keys", c.get("/settings/keys").Body)
	golden(t, "key_delete", c.get("/settings/keys/"+strconv.FormatInt(keys[0].ID, 10)+"/delete").Body)

	// Deploy keys of alice/notes.
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "notes", Readme: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "deploy_keys_empty", c.get("/alice/notes/settings/keys").Body)
	golden(t, "deploy_key_new", c.get("/alice/notes/settings/keys/new").Body)
	res = c.post("/alice/notes/settings/keys/new", "/alice/notes/settings/keys/new", url.Values{"title": {"ci"}, "key": {laptop}, "write": {"1"}})
	wantStatus(t, "deploy key taken", res, http.StatusUnprocessableEntity)
	golden(t, "deploy_key_new_taken", res.Body)
	ci, _ := testKey(t, 3, "ci")
	res = c.post("/alice/notes/settings/keys/new", "/alice/notes/settings/keys/new", url.Values{"title": {"ci"}, "key": {ci}})
	wantStatus(t, "add deploy key", res, http.StatusSeeOther)
	if res.Location != "/alice/notes/settings/keys" {
		t.Fatalf("adding a deploy key redirects to %q", res.Location)
	}
	golden(t, "deploy_keys_created", c.follow("add deploy key", res).Body)
	deploy, _ := testKey(t, 4, "")
	res = c.post("/alice/notes/settings/keys/new", "/alice/notes/settings/keys/new", url.Values{"title": {"deploy"}, "key": {deploy}, "write": {"1"}})
	mustContain(t, "read-write deploy key added", c.follow("add read-write deploy key", res).Body, "Deploy key deploy added.")
	golden(t, "deploy_keys", c.get("/alice/notes/settings/keys").Body)
	notes, _, err := e.svc.Repo(ctx, system, "alice", "notes", authz.Read)
	if err != nil {
		t.Fatal(err)
	}
	dks, err := e.svc.ListDeployKeys(ctx, system, notes, gatehouse.Page{})
	if err != nil || len(dks) != 2 || !dks[0].ReadOnly || dks[1].ReadOnly {
		t.Fatalf("alice/notes's deploy keys: %+v, %v", dks, err)
	}
	golden(t, "deploy_key_delete", c.get("/alice/notes/settings/keys/"+strconv.FormatInt(dks[0].ID, 10)+"/delete").Body)

	// Both clone URLs, HTTPS first, when the server serves SSH.
	e.h.cfg.SSHCloneURL = func(full string) string { return "ssh://git@git.example.com:2222/" + full + ".git" }
	golden(t, "repo_ssh", c.get("/alice/notes").Body)

	c.lang = "ja"
	golden(t, "ja_keys", c.get("/settings/keys").Body)
	golden(t, "ja_key_new", c.get("/settings/keys/new").Body)
	golden(t, "ja_deploy_keys", c.get("/alice/notes/settings/keys").Body)
	golden(t, "ja_deploy_key_new", c.get("/alice/notes/settings/keys/new").Body)
	golden(t, "ja_repo_ssh", c.get("/alice/notes").Body)
}

// keyIDs lists the ids of a user's keys.
func keyIDs(t *testing.T, e *env, userID int64) []int64 {
	t.Helper()
	keys, err := e.svc.ListKeys(context.Background(), system, userID, gatehouse.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, k := range keys {
		ids = append(ids, k.ID)
	}
	return ids
}

// TestKeyFlows adds and deletes SSH keys through the forms: sudo mode,
// the form's mistakes, someone else's key, the security log.
func TestKeyFlows(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", false)
	e.user("bob", false)
	line, fp := testKey(t, 1, "alice@laptop")

	// Without sudo mode the form asks for the password, and a posted
	// form is answered with the prompt, which returns to the form.
	c := e.client()
	c.signIn("alice", false)
	wantStatus(t, "key list without sudo", c.get("/settings/keys"), http.StatusOK)
	res := c.get("/settings/keys/new")
	if res.Status != http.StatusSeeOther || res.Location != "/sudo?return_to="+url.QueryEscape("/settings/keys/new") {
		t.Errorf("new key without sudo: %d %q", res.Status, res.Location)
	}
	res = c.post("/settings/keys", "/settings/keys", url.Values{"title": {"laptop"}, "key": {line}})
	wantStatus(t, "add key without sudo", res, http.StatusUnauthorized)
	mustContain(t, "sudo prompt", res.Body, sudoForm, `name="return_to" value="/settings/keys/new"`)
	if ids := keyIDs(t, e, alice.ID); len(ids) != 0 {
		t.Fatalf("a key was added without sudo: %v", ids)
	}
	res = c.post("/settings/profile", "/sudo", url.Values{"password": {testPassword}, "return_to": {"/settings/keys/new"}})
	if res.Status != http.StatusSeeOther || res.Location != "/settings/keys/new" {
		t.Fatalf("sudo: %d %q", res.Status, res.Location)
	}

	// Mistakes: nothing pasted, a private key (never shown back), not a
	// key, a title too long.
	for _, tc := range []struct {
		title, key, want string
	}{
		{"laptop", " ", "Paste a public key."},
		{"laptop", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----", "That is a private key"},
		{"laptop", "hello", "This is not an OpenSSH public key."},
		{strings.Repeat("x", 256), line, "Keep the title to 255 characters or fewer."},
	} {
		res := c.post("/settings/keys/new", "/settings/keys", url.Values{"title": {tc.title}, "key": {tc.key}})
		wantStatus(t, "bad key form "+tc.want, res, http.StatusUnprocessableEntity)
		mustContain(t, "bad key form", res.Body, tc.want, `aria-invalid="true"`)
		if strings.Contains(res.Body, "PRIVATE KEY") || strings.Contains(res.Body, "b3BlbnNzaC1rZXktdjEAAAAA") {
			t.Error("the form shows a private key back")
		}
	}
	res = c.post("/settings/keys/new", "/settings/keys", url.Values{"title": {"laptop"}, "key": {line}})
	wantStatus(t, "add key", res, http.StatusSeeOther)
	ids := keyIDs(t, e, alice.ID)
	if len(ids) != 1 {
		t.Fatalf("alice has keys %v", ids)
	}
	id := strconv.FormatInt(ids[0], 10)
	// The same key again, by anyone: taken.
	res = c.post("/settings/keys/new", "/settings/keys", url.Values{"title": {"again"}, "key": {line}})
	wantStatus(t, "same key twice", res, http.StatusUnprocessableEntity)
	mustContain(t, "same key twice", res.Body, "This key is in use on this server already.")
	bc := e.client()
	bc.signIn("bob", true)
	res = bc.post("/settings/keys/new", "/settings/keys", url.Values{"title": {"mine"}, "key": {line}})
	wantStatus(t, "someone else's key", res, http.StatusUnprocessableEntity)
	mustContain(t, "someone else's key", res.Body, "This key is in use on this server already.")

	// bob cannot see, nor delete, alice's key.
	if body := bc.get("/settings/keys").Body; strings.Contains(body, inHTML(fp)) {
		t.Error("bob's key list shows alice's key")
	}
	wantStatus(t, "someone else's key, delete form", bc.get("/settings/keys/"+id+"/delete"), http.StatusNotFound)
	res = bc.post("/settings/keys", "/settings/keys/"+id+"/delete", nil)
	wantStatus(t, "delete someone else's key", res, http.StatusNotFound)
	wantStatus(t, "no such key", c.get("/settings/keys/999/delete"), http.StatusNotFound)
	wantStatus(t, "not a key id", c.get("/settings/keys/x/delete"), http.StatusNotFound)
	if len(keyIDs(t, e, alice.ID)) != 1 {
		t.Fatal("bob deleted alice's key")
	}

	res = c.post("/settings/keys/"+id+"/delete", "/settings/keys/"+id+"/delete", nil)
	wantStatus(t, "delete key", res, http.StatusSeeOther)
	mustContain(t, "key list after deleting", c.follow("delete key", res).Body, "SSH key laptop deleted.", "You have no SSH keys.")
	if ids := keyIDs(t, e, alice.ID); len(ids) != 0 {
		t.Fatalf("the key is still there: %v", ids)
	}

	// Both events are in alice's security log, named in her language.
	log := c.get("/settings/security-log").Body
	mustContain(t, "security log", log, "SSH key added", "SSH key deleted", "public_key.create", "public_key.delete", inHTML("fingerprint="+fp), "laptop")
	c.lang = "ja"
	mustContain(t, "Japanese security log", c.get("/settings/security-log").Body, "SSH キーを追加", "SSH キーを削除")
}

// TestDeployKeyFlows: a repository's deploy keys are for its
// administrators only; everyone else, site admins included, is told there
// is nothing here, and the forms change nothing for them.
func TestDeployKeyFlows(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.user("root", true)
	e.user("alice", false)
	for _, login := range []string{"bob", "reader", "writer", "maintainer"} {
		e.user(login, false)
	}
	repo, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "app", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.CreateRepo(ctx, system, service.NewRepo{Owner: "alice", Name: "other", Private: true}); err != nil {
		t.Fatal(err)
	}
	for login, p := range map[string]gatehouse.Permission{"reader": gatehouse.PermRead, "writer": gatehouse.PermWrite, "maintainer": gatehouse.PermAdmin} {
		if _, err := e.svc.SetCollaborator(ctx, system, repo, login, p); err != nil {
			t.Fatal(err)
		}
	}
	deployKeys := func() []*gatehouse.DeployKey {
		t.Helper()
		keys, err := e.svc.ListDeployKeys(ctx, system, repo, gatehouse.Page{})
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	const list = "/alice/app/settings/keys"
	ro, _ := testKey(t, 1, "ro")
	rw, rwFP := testKey(t, 2, "rw")

	c := e.client()
	c.signIn("alice", true)
	mustContain(t, "repository page of its owner", c.get("/alice/app").Body, `href="/alice/app/settings/keys"`)
	res := c.post(list+"/new", list+"/new", url.Values{"title": {"ro"}, "key": {ro}})
	wantStatus(t, "add read-only deploy key", res, http.StatusSeeOther)
	res = c.post(list+"/new", list+"/new", url.Values{"title": {"rw"}, "key": {rw}, "write": {"1"}})
	wantStatus(t, "add read-write deploy key", res, http.StatusSeeOther)
	keys := deployKeys()
	if len(keys) != 2 || !keys[0].ReadOnly || keys[1].ReadOnly || keys[0].Title != "ro" {
		t.Fatalf("deploy keys %+v", keys)
	}
	mustContain(t, "deploy key list", c.get(list).Body, "Read-only", "Read/write", inHTML(rwFP))
	roID := strconv.FormatInt(keys[0].ID, 10)

	// A key of another repository is not found there.
	wantStatus(t, "deploy key of another repository", c.get("/alice/other/settings/keys/"+roID+"/delete"), http.StatusNotFound)
	res = c.post("/alice/other/settings/keys", "/alice/other/settings/keys/"+roID+"/delete", nil)
	wantStatus(t, "delete through another repository", res, http.StatusNotFound)
	wantStatus(t, "deploy keys of a missing repository", c.get("/alice/nothing/settings/keys"), http.StatusNotFound)

	// Everyone who may not administer the repository: 404 on every page
	// and form, nothing changed, no link on the repository page.
	for _, login := range []string{"bob", "reader", "writer", "root"} {
		o := e.client()
		o.signIn(login, true)
		for _, path := range []string{list, list + "/new", list + "/" + roID + "/delete"} {
			res := o.get(path)
			wantStatus(t, login+": GET "+path, res, http.StatusNotFound)
			mustContain(t, login+": GET "+path, res.Body, notFoundText)
		}
		other, _ := testKey(t, 9, login)
		res := o.post("/settings/profile", list+"/new", url.Values{"title": {"x"}, "key": {other}, "write": {"1"}})
		wantStatus(t, login+": add deploy key", res, http.StatusNotFound)
		res = o.post("/settings/profile", list+"/"+roID+"/delete", nil)
		wantStatus(t, login+": delete deploy key", res, http.StatusNotFound)
		if body := o.get("/alice/app").Body; strings.Contains(body, "/settings/keys") {
			t.Errorf("%s sees the settings link on alice/app", login)
		}
	}
	if keys := deployKeys(); len(keys) != 2 {
		t.Fatalf("deploy keys changed: %+v", keys)
	}
	anon := e.client().get(list)
	if anon.Status != http.StatusSeeOther || !strings.HasPrefix(anon.Location, "/login?") {
		t.Errorf("anonymous deploy keys: %d %q", anon.Status, anon.Location)
	}

	// A collaborator with admin manages them, in sudo mode only.
	a := e.client()
	a.signIn("maintainer", false)
	mustContain(t, "repository page of an admin", a.get("/alice/app").Body, `href="/alice/app/settings/keys"`)
	wantStatus(t, "admin's deploy key list", a.get(list), http.StatusOK)
	res = a.get(list + "/" + roID + "/delete")
	if res.Status != http.StatusSeeOther || res.Location != "/sudo?return_to="+url.QueryEscape(list+"/"+roID+"/delete") {
		t.Errorf("delete form without sudo: %d %q", res.Status, res.Location)
	}
	res = a.post(list, list+"/"+roID+"/delete", nil)
	wantStatus(t, "delete without sudo", res, http.StatusUnauthorized)
	mustContain(t, "sudo prompt", res.Body, sudoForm, `name="return_to" value="`+list+"/"+roID+`/delete"`)
	res = a.post(list, list+"/new", url.Values{"title": {"x"}, "key": {ro}})
	mustContain(t, "sudo prompt", res.Body, sudoForm, `name="return_to" value="`+list+`/new"`)
	a.post("/settings/profile", "/sudo", url.Values{"password": {testPassword}, "return_to": {"/"}})
	res = a.post(list+"/"+roID+"/delete", list+"/"+roID+"/delete", nil)
	wantStatus(t, "delete deploy key", res, http.StatusSeeOther)
	mustContain(t, "list after deleting", a.follow("delete deploy key", res).Body, "Deploy key ro deleted.")
	if keys := deployKeys(); len(keys) != 1 || keys[0].Title != "rw" {
		t.Fatalf("deploy keys after deleting: %+v", keys)
	}

	// The site admin's audit log names the events.
	r := e.client()
	r.signIn("root", false)
	mustContain(t, "audit log", r.get("/admin/audit-log").Body, "Deploy key added", "Deploy key deleted", "deploy_key.create", "alice/app")
}

// TestUserKeysText: /USER.keys is the user's public keys, one per line,
// without comments, as plain text; the service decides who may read them.
func TestUserKeysText(t *testing.T) {
	ctx := context.Background()
	for _, private := range []bool{false, true} {
		var opts []envOption
		if private {
			opts = append(opts, privateMode)
		}
		e := newEnv(t, opts...)
		alice := e.user("alice", false)
		e.user("bob", false)
		one, _ := testKey(t, 1, "alice@laptop")
		two, _ := testKey(t, 2, "alice@desktop")
		for _, k := range []string{one, two} {
			if _, err := e.svc.CreateKey(ctx, system, alice.ID, "", k); err != nil {
				t.Fatal(err)
			}
		}
		want := withoutComment(one) + "\n" + withoutComment(two) + "\n"
		c := e.client()
		c.signIn("bob", false)
		anon := e.client()
		readers := []*client{c}
		if private {
			res := anon.get("/alice.keys")
			if res.Status != http.StatusSeeOther || res.Location != "/login?return_to=%2Falice.keys" {
				t.Errorf("private mode, anonymous /alice.keys: %d %q", res.Status, res.Location)
			}
		} else {
			readers = append(readers, anon)
		}
		for _, r := range readers {
			req, _ := http.NewRequest("GET", e.base+"/alice.keys", nil)
			res, err := r.hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			b.ReadFrom(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK || b.String() != want || res.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("private=%v: /alice.keys: %d %s %q, want %q", private, res.StatusCode, res.Header.Get("Content-Type"), b.String(), want)
			}
			if got := r.get("/bob.keys"); got.Status != http.StatusOK || got.Body != "" {
				t.Errorf("private=%v: /bob.keys: %d %q, want nothing", private, got.Status, got.Body)
			}
			for _, path := range []string{"/nobody.keys", "/-bad-.keys", "/.keys"} {
				if got := r.get(path); got.Status != http.StatusNotFound || got.Body != "Not Found\n" {
					t.Errorf("private=%v: %s: %d %q", private, path, got.Status, got.Body)
				}
			}
		}
	}
}

// TestKeySudoReturn: a key form posted after sudo mode ran out comes back
// to the page that shows it.
func TestKeySudoReturn(t *testing.T) {
	for path, back := range map[string]string{
		"/settings/keys":                       "/settings/keys/new",
		"/settings/keys/7/delete":              "/settings/keys/7/delete",
		"/alice/app/settings/keys/new":         "/alice/app/settings/keys/new",
		"/alice/app/settings/keys/7/delete":    "/alice/app/settings/keys/7/delete",
		"/organizations/acme/settings/members": "/organizations/acme/settings/members",
	} {
		if got := sudoReturnForPost(path); got != back {
			t.Errorf("sudoReturnForPost(%q) = %q, want %q", path, got, back)
		}
	}
}

// TestKeyLabels: the SSH server's refusal sends people to "Settings > SSH
// keys", and GitHub's documentation names the deploy key checkbox; the
// pages use those words.
func TestKeyLabels(t *testing.T) {
	en := localizer("en")
	for key, want := range map[string]string{
		"nav.settings":                   "Settings",
		"keys.title":                     "SSH keys",
		"deploy_keys.title":              "Deploy keys",
		"deploy_keys.allow_write":        "Allow write access",
		"repo.clone_ssh":                 "Clone over SSH",
		"audit.action_public_key_create": "SSH key added",
	} {
		if got := en.T(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
}
