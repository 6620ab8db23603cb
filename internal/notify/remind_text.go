package notify

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse"
)

// ReminderMessage writes the mail about token t in the owner's language:
// Japanese when they chose it, English otherwise. It names the token by
// note, last eight characters and scopes (never the secret) and links to
// its regenerate page.
func ReminderMessage(u *gatehouse.User, t *gatehouse.Token, kind gatehouse.ReminderKind, baseURL string) gatehouse.Message {
	link := fmt.Sprintf("%s%s/%d/regenerate", baseURL, tokensPath(t), t.ID)
	note := shorten(printable(t.Note), 40)
	exp := t.ExpiresAt.UTC()
	expired := kind == gatehouse.ReminderExpired
	name := u.Login
	var subject string
	var b strings.Builder
	if strings.HasPrefix(u.Locale, "ja") {
		scopes := strings.Join(t.Scopes, ", ")
		if scopes == "" {
			scopes = "なし(公開データのみ)"
		}
		when := exp.Format("2006年1月2日 15:04 UTC")
		fmt.Fprintf(&b, "%s さん\n\n", name)
		if expired {
			subject = fmt.Sprintf("個人用アクセストークン「%s」の有効期限が切れました", note)
			fmt.Fprintf(&b, "個人用アクセストークン「%s」(…%s)は %s に有効期限が切れ、もう使えません。\n", printable(t.Note), t.LastEight, when)
		} else {
			subject = fmt.Sprintf("個人用アクセストークン「%s」の有効期限は %s です", note, exp.Format("2006-01-02"))
			fmt.Fprintf(&b, "個人用アクセストークン「%s」(…%s)の有効期限は %s です。\n", printable(t.Note), t.LastEight, when)
		}
		fmt.Fprintf(&b, "スコープ: %s\n\n", scopes)
		b.WriteString("このトークンがまだ必要なら、再生成してください。メモとスコープはそのままで、新しい値と新しい有効期限が設定されます:\n\n")
		fmt.Fprintf(&b, "    %s\n\n", link)
		b.WriteString("再生成したら、このトークンを使っているスクリプトやプログラムに新しい値を設定してください。")
		if !expired {
			b.WriteString("不要であれば、このメールは無視してかまいません。有効期限が来ると使えなくなります。")
		}
		b.WriteString("\n")
	} else {
		scopes := strings.Join(t.Scopes, ", ")
		if scopes == "" {
			scopes = "none (public data only)"
		}
		when := exp.Format("Mon, 2 Jan 2006 15:04 UTC")
		fmt.Fprintf(&b, "Hello %s,\n\n", name)
		if expired {
			subject = fmt.Sprintf("Your personal access token \"%s\" has expired", note)
			fmt.Fprintf(&b, "Your personal access token \"%s\" (…%s) expired on %s and no longer works.\n", printable(t.Note), t.LastEight, when)
		} else {
			subject = fmt.Sprintf("Your personal access token \"%s\" expires on %s", note, exp.Format("2006-01-02"))
			fmt.Fprintf(&b, "Your personal access token \"%s\" (…%s) expires on %s.\n", printable(t.Note), t.LastEight, when)
		}
		fmt.Fprintf(&b, "Scopes: %s\n\n", scopes)
		b.WriteString("If you still need it, regenerate it: it keeps its note and scopes and gets a new secret and a new expiration date.\n\n")
		fmt.Fprintf(&b, "    %s\n\n", link)
		b.WriteString("After regenerating, give the new secret to the scripts and programs that use the token.")
		if !expired {
			b.WriteString(" If you no longer need it, ignore this message; the token stops working when it expires.")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n-- \nGatehouse, %s\n", baseURL)
	return gatehouse.Message{To: u.Email, Subject: "[Gatehouse] " + subject, Body: b.String()}
}

// shorten cuts s to at most n runes, marking the cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// printable replaces control characters, which have no place in a subject
// line, with spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// tokensPath is where the web UI lists tokens of t's kind.
func tokensPath(t *gatehouse.Token) string {
	if t.FineGrained() {
		return "/settings/personal-access-tokens"
	}
	return "/settings/tokens"
}
