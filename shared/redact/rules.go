package redact

// builtins is the table of built-in rules, indexed by ruleID, in the order of
// config.RedactRules. Each Example is checked by the tests: the rule must
// redact it.
var builtins = [ruleCustom]Rule{
	ruleKeyID: {
		Name:        "aws_access_key_id",
		Description: "AWS access key ids and other unique ids: AKIA, ASIA, AGPA, AIDA, AROA, AIPA, ANPA, ANVA, ABIA or ACCA and 16 of [A-Z2-7], as a whole word",
		Example:     `credentials loaded: AKIAIOSFODNN7EXAMPLE from env`,
	},
	ruleSecretKey: {
		Name:        "aws_secret_access_key",
		Description: "40 characters of [A-Za-z0-9/+] after a key such as aws_secret_access_key, SecretAccessKey or secret_key",
		Example:     `aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`,
	},
	ruleBearer: {
		Name:        "bearer_token",
		Description: "the credential after \"Bearer\", and after \"Authorization: Basic\"; the scheme word stays",
		Example:     `GET /v1/orders Authorization: Bearer mF_9.B5f-4.1JqM`,
	},
	ruleJWT: {
		Name:        "jwt",
		Description: "JSON Web Tokens: eyJ....eyJ....signature in base64url",
		Example:     `id_token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U accepted`,
	},
	rulePassword: {
		Name:        "password",
		Description: "values of password, passwd, pwd, pass, secret, client_secret, api_key, apikey, token and access_token keys, and URL userinfo passwords",
		Example:     `{"user":"kim","password":"hunter2","db":"postgres://app:s3cr3t@db.internal:5432/orders"}`,
	},
	ruleEmail: {
		Name:        "email",
		Description: "email addresses local@domain.tld",
		Example:     `password reset sent to jane.doe+shop@example.co.kr`,
	},
	ruleCard: {
		Name:        "card_number",
		Description: "payment card numbers: 13-19 digits, plain or grouped by spaces or dashes, first digit 2-6, Luhn-valid",
		Example:     `charge ok card=4111 1111 1111 1111 amount=12000`,
	},
	ruleRRN: {
		Name:        "kr_rrn",
		Description: "Korean resident registration numbers YYMMDD-GNNNNNN (undashed only with a valid check digit)",
		Example:     `고객 주민등록번호 900101-1234567 확인`,
	},
}
