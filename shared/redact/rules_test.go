package redact

import (
	"math/rand/v2"
	"testing"
)

// ruleCase is one message for one rule: want is the message after that rule
// alone ran over it; want == in means the rule must leave it alone.
type ruleCase struct {
	in, want string
}

// ruleCases holds, per built-in rule, its positive and negative cases.
var ruleCases = map[string]map[string]ruleCase{
	"aws_access_key_id": {
		"plain":                {"key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED:aws_access_key_id] used"},
		"session key in json":  {`{"accessKeyId":"ASIAY34FZKBOKMUTVV7A"}`, `{"accessKeyId":"[REDACTED:aws_access_key_id]"}`},
		"env":                  {"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_ACCESS_KEY_ID=[REDACTED:aws_access_key_id]"},
		"role id":              {"principal AROAJQABLZS4A3QDU576:session", "principal [REDACTED:aws_access_key_id]:session"},
		"every prefix":         {"AGPA2345672345672345 AIDA2345672345672345 AIPA2345672345672345 ANPA2345672345672345 ANVA2345672345672345 ABIA2345672345672345 ACCA2345672345672345", "[REDACTED:aws_access_key_id] [REDACTED:aws_access_key_id] [REDACTED:aws_access_key_id] [REDACTED:aws_access_key_id] [REDACTED:aws_access_key_id] [REDACTED:aws_access_key_id] [REDACTED:aws_access_key_id]"},
		"at start and end":     {"AKIAIOSFODNN7EXAMPLE", "[REDACTED:aws_access_key_id]"},
		"longer token":         {"XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX", "XAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEX"},
		"inside a word":        {"xAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEx _AKIAIOSFODNN7EXAMPLE", "xAKIAIOSFODNN7EXAMPLE AKIAIOSFODNN7EXAMPLEx _AKIAIOSFODNN7EXAMPLE"},
		"outside the alphabet": {"AKIAIOSFODNN7EXAMPL1 AKIAIOSFODNN8EXAMPLE", "AKIAIOSFODNN7EXAMPL1 AKIAIOSFODNN8EXAMPLE"},
		"unknown prefix":       {"AKIB IOSFODNN7EXAMPLE AXIAIOSFODNN7EXAMPLE", "AKIB IOSFODNN7EXAMPLE AXIAIOSFODNN7EXAMPLE"},
		"too short":            {"AKIAIOSFODNN7EXAMPL", "AKIAIOSFODNN7EXAMPL"},
		"cloudtrail hex ids":   {`"principalId":"AROA3f2a9c81d4e5b607:session-1234"`, `"principalId":"AROA3f2a9c81d4e5b607:session-1234"`},
	},
	"aws_secret_access_key": {
		"ini":               {"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = [REDACTED:aws_secret_access_key]"},
		"env":               {"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "AWS_SECRET_ACCESS_KEY=[REDACTED:aws_secret_access_key]"},
		"json":              {`{"SecretAccessKey":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`, `{"SecretAccessKey":"[REDACTED:aws_secret_access_key]"}`},
		"json spaced":       {`{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`, `{"SecretAccessKey": "[REDACTED:aws_secret_access_key]"}`},
		"yaml":              {"secret_key: wJalrXUtnFEMI+K7MDENG+bPxRfiCYEXAMPLEKEY\n", "secret_key: [REDACTED:aws_secret_access_key]\n"},
		"escaped json":      {`"{\"secretAccessKey\":\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}"`, `"{\"secretAccessKey\":\"[REDACTED:aws_secret_access_key]\"}"`},
		"bare":              {"value wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here", "value wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY here"},
		"git sha":           {"commit=3f786850e387550fdab836ed7e6dc881de23001b", "commit=3f786850e387550fdab836ed7e6dc881de23001b"},
		"other key":         {"session_id=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "session_id=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		"41 characters":     {"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYX"},
		"longer base64":     {"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY==", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY=="},
		"39 characters":     {"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE", "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE"},
		"key in prose only": {"rotate the aws_secret_access_key now", "rotate the aws_secret_access_key now"},
	},
	"bearer_token": {
		"header":             {"Authorization: Bearer mF_9.B5f-4.1JqM", "Authorization: Bearer [REDACTED:bearer_token]"},
		"header short token": {"authorization: bearer abc", "authorization: bearer [REDACTED:bearer_token]"},
		"json header":        {`{"headers":{"Authorization":"Bearer abcdef"}}`, `{"headers":{"Authorization":"Bearer [REDACTED:bearer_token]"}}`},
		"go header map":      {"map[Authorization:[Basic dXNlcjpwYXNz] Accept:[*/*]]", "map[Authorization:[Basic [REDACTED:bearer_token]] Accept:[*/*]]"},
		"basic":              {"Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", "Authorization: Basic [REDACTED:bearer_token]"},
		"proxy":              {"Proxy-Authorization: basic dXNlcjpwYXNz", "Proxy-Authorization: basic [REDACTED:bearer_token]"},
		"cgi env":            {"HTTP_AUTHORIZATION=Bearer x", "HTTP_AUTHORIZATION=Bearer [REDACTED:bearer_token]"},
		"lower case":         {"using bearer 9f8e7d6c5b4a39281706 for call", "using bearer [REDACTED:bearer_token] for call"},
		"upper case tab":     {"BEARER\tabc123def456", "BEARER\t[REDACTED:bearer_token]"},
		"long opaque":        {"bearer AbCdEfGhIjKlMnOpQrStUv", "bearer [REDACTED:bearer_token]"},
		"prose":              {"Bearer authentication failed for the bearer of this token", "Bearer authentication failed for the bearer of this token"},
		"token type":         {`{"token_type":"Bearer","expires_in":3600}`, `{"token_type":"Bearer","expires_in":3600}`},
		"not a credential":   {"token_type=bearer expires_in=3600", "token_type=bearer expires_in=3600"},
		"in a word":          {"forbearer abc123def456", "forbearer abc123def456"},
		"basic elsewhere":    {"basic dXNlcjpwYXNz auth", "basic dXNlcjpwYXNz auth"},
		"other scheme":       {"Authorization: Digest username=\"x\"", "Authorization: Digest username=\"x\""},
		"authorization code": {"authorization_code=abc123 authorizationCode: Basic abc", "authorization_code=abc123 authorizationCode: Basic abc"},
	},
	"jwt": {
		"plain":            {"token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U ok", "token [REDACTED:jwt] ok"},
		"bearer header":    {"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "Authorization: Bearer [REDACTED:jwt]"},
		"unsigned":         {`"id_token":"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."`, `"id_token":"[REDACTED:jwt]"`},
		"in url":           {"/callback?token=eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.c2ln&x=1", "/callback?token=[REDACTED:jwt]&x=1"},
		"one segment":      {"eyJhbGciOiJIUzI1NiJ9 alone", "eyJhbGciOiJIUzI1NiJ9 alone"},
		"payload not json": {"eyJhbGciOiJIUzI1NiJ9.abc.def", "eyJhbGciOiJIUzI1NiJ9.abc.def"},
		"inside base64":    {"QUJDeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "QUJDeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"},
		"short header":     {"eyJ.eyJ.x", "eyJ.eyJ.x"},
	},
	"password": {
		"key=value":             {"login user=kim password=hunter2 ok", "login user=kim password=[REDACTED:password] ok"},
		"key: value":            {"Password: hunter2", "Password: [REDACTED:password]"},
		"json":                  {`{"user":"kim","password":"hun\"ter2","x":1}`, `{"user":"kim","password":"[REDACTED:password]","x":1}`},
		"json backslash end":    {`{"password":"abc\\","x":1}`, `{"password":"[REDACTED:password]","x":1}`},
		"json spaced":           {`{"password" : "hunter2"}`, `{"password" : "[REDACTED:password]"}`},
		"json number":           {`{"pwd":123456,"x":1}`, `{"pwd":[REDACTED:password],"x":1}`},
		"escaped json":          {`{"msg":"{\"password\":\"hunter2\",\"user\":\"kim\"}"}`, `{"msg":"{\"password\":\"[REDACTED:password]\",\"user\":\"kim\"}"}`},
		"escaped escaped quote": {`{"msg":"{\"token\":\"a\\\"b\"}"}`, `{"msg":"{\"token\":\"[REDACTED:password]\"}"}`},
		"twice escaped":         {`"{\"m\":\"{\\\"secret\\\":\\\"x1\\\"}\"}"`, `"{\"m\":\"{\\\"secret\\\":\\\"[REDACTED:password]\\\"}\"}"`},
		"python repr":           {`{'passwd': 'hunter2', 'user': 'kim'}`, `{'passwd': '[REDACTED:password]', 'user': 'kim'}`},
		"query string":          {"GET /login?user=kim&pass=hunter2&next=/", "GET /login?user=kim&pass=[REDACTED:password]&next=/"},
		"every name":            {"password=a passwd=b pwd=c pass=d secret=e client_secret=f api_key=g apikey=h token=i access_token=j", "password=[REDACTED:password] passwd=[REDACTED:password] pwd=[REDACTED:password] pass=[REDACTED:password] secret=[REDACTED:password] client_secret=[REDACTED:password] api_key=[REDACTED:password] apikey=[REDACTED:password] token=[REDACTED:password] access_token=[REDACTED:password]"},
		"components":            {"DB_PASSWORD=a x-api-key: b clientSecret=c spring.datasource.password=d accessToken=e --password=f", "DB_PASSWORD=[REDACTED:password] x-api-key: [REDACTED:password] clientSecret=[REDACTED:password] spring.datasource.password=[REDACTED:password] accessToken=[REDACTED:password] --password=[REDACTED:password]"},
		"case":                  {"PASSWORD=a ApiKey=b PassWord=c", "PASSWORD=[REDACTED:password] ApiKey=[REDACTED:password] PassWord=[REDACTED:password]"},
		"cursor and cwd":        {"nextToken=AAEc9 PWD=/home/app", "nextToken=[REDACTED:password] PWD=[REDACTED:password]"},
		"inside a word":         {"bypass=1 OLDPWD=/x compass: north", "bypass=1 OLDPWD=/x compass: north"},
		"go struct":             {"config{Token:abc123 Host:db}", "config{Token:[REDACTED:password] Host:db}"},
		"go assign":             {`password := "hunter2"`, `password := "[REDACTED:password]"`},
		"url userinfo":          {"dsn=postgres://app:s3cr3t@db.internal:5432/orders", "dsn=postgres://app:[REDACTED:password]@db.internal:5432/orders"},
		"url at in password":    {"redis://default:p@ss@cache:6379", "redis://default:[REDACTED:password]@cache:6379"},
		"url empty user":        {"redis://:s3cr3t@cache:6379/0", "redis://:[REDACTED:password]@cache:6379/0"},
		"escaped url":           {`{"url":"https:\/\/u:pw@host\/x"}`, `{"url":"https:\/\/u:[REDACTED:password]@host\/x"}`},
		"unterminated":          {"password=\"hunter2\nnext line", "password=\"[REDACTED:password]\nnext line"},
		"prefix of a name":      {"password_reset_sent=true tokenizer=bert passwordless: yes", "password_reset_sent=true tokenizer=bert passwordless: yes"},
		"prose":                 {"user changed their password successfully", "user changed their password successfully"},
		"not values":            {`{"password":null,"secret":true,"token":false,"pass":{"min":8},"pwd":[1],"apikey":""}`, `{"password":null,"secret":true,"token":false,"pass":{"min":8},"pwd":[1],"apikey":""}`},
		"empty":                 {"password=&next=1 password:\nnext password=", "password=&next=1 password:\nnext password="},
		"spaced":                {"password = hunter2", "password = [REDACTED:password]"},
		"url user only":         {"https://kim@example.com/x", "https://kim@example.com/x"},
		"other keys":            {`{"key":"releases/app.tar.gz","bypass":"x","address":"y","passed":3}`, `{"key":"releases/app.tar.gz","bypass":"x","address":"y","passed":3}`},
		"already redacted":      {`password="[REDACTED:password]" token=[REDACTED:jwt]`, `password="[REDACTED:password]" token=[REDACTED:jwt]`},
	},
	"email": {
		"plain":           {"sent to jane.doe+shop@example.co.kr.", "sent to [REDACTED:email]."},
		"json":            {`{"email":"kim@example.com"}`, `{"email":"[REDACTED:email]"}`},
		"mailto":          {"<a href=mailto:kim@example.com>", "<a href=mailto:[REDACTED:email]>"},
		"korean particle": {"kim@example.com으로 보냈습니다", "[REDACTED:email]으로 보냈습니다"},
		"in query":        {"https://x.example/?email=kim@example.com&a=1", "https://x.example/?email=[REDACTED:email]&a=1"},
		"colon after":     {"from kim@example.com: hello", "from [REDACTED:email]: hello"},
		"two":             {"a@b.io,c@d.io", "[REDACTED:email],[REDACTED:email]"},
		"localhost":       {"root@localhost", "root@localhost"},
		"npm scope":       {"npm i @types/node @aws-sdk/client-s3@3.600.0", "npm i @types/node @aws-sdk/client-s3@3.600.0"},
		"go module":       {"github.com/go-chi/chi/v5@v5.1.0/mux.go", "github.com/go-chi/chi/v5@v5.1.0/mux.go"},
		"git remote":      {"git clone git@github.com:org/repo.git", "git clone git@github.com:org/repo.git"},
		"host and port":   {"smtp kim@mail.example.com:587", "smtp kim@mail.example.com:587"},
		"java object":     {"com.example.Foo@1a2b3c4d", "com.example.Foo@1a2b3c4d"},
		"retina image":    {"/img/logo@2x.png", "/img/logo@2x.png"},
		"url userinfo":    {"https://kim@example.com/ https://kim:pw@example.com/", "https://kim@example.com/ https://kim:pw@example.com/"},
		"numeric tld":     {"user@10.0.0.1", "user@10.0.0.1"},
		"dots":            {".kim@example.com kim.@example.com", ".kim@example.com kim.@example.com"},
		"at alone":        {"@ @@ a@ @b.com", "@ @@ a@ @b.com"},
	},
	"card_number": {
		"visa":             {"card 4111111111111111 ok", "card [REDACTED:card_number] ok"},
		"spaces":           {"card=4111 1111 1111 1111 amount=1", "card=[REDACTED:card_number] amount=1"},
		"dashes":           {"5500-0000-0000-0004", "[REDACTED:card_number]"},
		"amex":             {"3782 822463 10005 / 378282246310005", "[REDACTED:card_number] / [REDACTED:card_number]"},
		"13 digits":        {"old visa 4222222222222.", "old visa [REDACTED:card_number]."},
		"19 digits":        {"6011 0009 9013 9424 009 / 6011000990139424009", "[REDACTED:card_number] / [REDACTED:card_number]"},
		"16 and a cvv":     {"6011 0009 9013 9424 137", "[REDACTED:card_number] 137"},
		"json number":      {`{"pan":5105105105105100}`, `{"pan":[REDACTED:card_number]}`},
		"year after":       {"4111 1111 1111 1111 2025", "[REDACTED:card_number] 2025"},
		"not luhn":         {"4111111111111112 4111 1111 1111 1112", "4111111111111112 4111 1111 1111 1112"},
		"epoch millis":     {`"timestamp":1732252800123, 1763596800000`, `"timestamp":1732252800123, 1763596800000`},
		"epoch micros":     {"ts=1763596800123456", "ts=1763596800123456"},
		"event id":         {"31953106606966983378809025079804211143289615424298221568", "31953106606966983378809025079804211143289615424298221568"},
		"in a token":       {"id=a4111111111111111 4111111111111111b", "id=a4111111111111111 4111111111111111b"},
		"decimal":          {"0.4111111111111111 4111111111111111.5", "0.4111111111111111 4111111111111111.5"},
		"mixed separators": {"4111 1111-1111 1111", "4111 1111-1111 1111"},
		"double space":     {"4111  1111  1111  1111", "4111  1111  1111  1111"},
		"bad grouping":     {"41 1111 1111 1111 11", "41 1111 1111 1111 11"},
		"first digit":      {"7111111111111114 1111111111111117", "7111111111111114 1111111111111117"},
		"vpc flow":         {"2 123456789012 eni-0a1b 10.0.1.5 10.0.2.9 51234 443 6 12 5000 1763596800 1763596860 ACCEPT OK", "2 123456789012 eni-0a1b 10.0.1.5 10.0.2.9 51234 443 6 12 5000 1763596800 1763596860 ACCEPT OK"},
		"date":             {"2025-11-20 15:04:05,000 INFO", "2025-11-20 15:04:05,000 INFO"},
		"20 digits":        {"41111111111111111113", "41111111111111111113"},
	},
	"kr_rrn": {
		"dashed":             {"주민번호 900101-1234567 확인", "주민번호 [REDACTED:kr_rrn] 확인"},
		"dashed post 2020":   {"rrn=201015-4000001", "rrn=[REDACTED:kr_rrn]"},
		"foreigner":          {"외국인등록번호: 850315-5123456", "외국인등록번호: [REDACTED:kr_rrn]"},
		"leap day":           {"000229-3123456", "[REDACTED:kr_rrn]"},
		"undashed valid":     {"rrn 8001011000008", "rrn [REDACTED:kr_rrn]"},
		"undashed bad check": {"rrn 8001011000007", "rrn 8001011000007"},
		"bad month":          {"901301-1234567", "901301-1234567"},
		"bad day":            {"900431-1234567 900100-1234567", "900431-1234567 900100-1234567"},
		"bad gender":         {"900101-9234567 900101-0234567", "900101-9234567 900101-0234567"},
		"too long":           {"900101-12345678 1900101-1234567", "900101-12345678 1900101-1234567"},
		"in a token":         {"A900101-1234567 900101-1234567B", "A900101-1234567 900101-1234567B"},
		"epoch millis":       {"1710201100000", "1710201100000"},
		"order number":       {"order 20251120-1234567", "order 20251120-1234567"},
	},
}

func TestRules(t *testing.T) {
	t.Parallel()
	for _, name := range BuiltinNames() {
		cases, ok := ruleCases[name]
		if !ok {
			t.Errorf("no cases for rule %s", name)
			continue
		}
		r, err := New([]string{name}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for cname, c := range cases {
			t.Run(name+"/"+cname, func(t *testing.T) {
				t.Parallel()
				got, counts := r.Redact(c.in)
				if got != c.want {
					t.Errorf("Redact(%q)\n got %q\nwant %q", c.in, got, c.want)
				}
				if again, _ := r.Redact(got); again != got {
					t.Errorf("not idempotent: Redact(%q) = %q", got, again)
				}
				if got == c.in && counts.Total() != 0 {
					t.Errorf("counts %v for an unchanged message", counts.Total())
				}
			})
		}
	}
	for name := range ruleCases {
		if _, err := New([]string{name}, nil); err != nil {
			t.Errorf("cases for unknown rule: %v", err)
		}
	}
}

// numberRun probes only some bytes and passes over probes that cannot be in
// a run of 13; it must still find exactly the first run a byte-by-byte scan
// finds, from every start it is called with.
func TestNumberRunFindsEveryRun(t *testing.T) {
	t.Parallel()
	naive := func(s string, i int) (int, int) {
		for i < len(s) {
			if !is(s[i], cCardRun) {
				i++
				continue
			}
			j := i
			for j < len(s) && is(s[j], cCardRun) {
				j++
			}
			if j-i >= 13 {
				return i, j
			}
			i = j
		}
		return -1, -1
	}
	rng := rand.New(rand.NewPCG(13, 7))
	const alphabet = "0123456789 -x.:\"é"
	for n := range 4000 {
		// Runs of the class of every length, at every distance, between
		// bytes outside it.
		b := make([]byte, rng.IntN(300))
		for k := range b {
			b[k] = alphabet[rng.IntN(len(alphabet))]
			if n%3 == 0 && rng.IntN(4) > 0 {
				b[k] = "0123456789"[rng.IntN(10)]
			}
		}
		s := string(b)
		for i := 0; i <= len(s); i++ {
			if i > 0 && is(s[i-1], cCardRun) {
				continue // numberRun's callers start at 0 or after a run
			}
			gs, ge := numberRun(s, i)
			ws, we := naive(s, i)
			if gs != ws || ge != we {
				t.Fatalf("numberRun(%q, %d) = %d, %d; want %d, %d", s, i, gs, ge, ws, we)
			}
		}
	}
}
