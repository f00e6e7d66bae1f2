using SparkControl.Core.Diagnostics;

namespace SparkControl.Tests.Core;

public sealed class LogRedactorTests
{
    /// <summary>A line as a service might log it, and the secret in it that must never reach a browser.</summary>
    public static TheoryData<string, string, string> Secrets => new()
    {
        { "hf token in env dump", "HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123" },
        { "bare hf token", "Using token hf_AbCdEfGhIjKlMnOpQrStUv12 from env", "hf_AbCdEfGhIjKlMnOpQrStUv12" },
        { "legacy hub variable", "HUGGING_FACE_HUB_TOKEN=hf_ZyXwVuTsRqPoNmLkJiHgFe98", "hf_ZyXwVuTsRqPoNmLkJiHgFe98" },
        { "ngc key in env", "NGC_API_KEY=nvapi-Ab12Cd34Ef56Gh78Ij90Kl12Mn34", "nvapi-Ab12Cd34Ef56Gh78Ij90Kl12Mn34" },
        { "bare ngc key", "login with nvapi-Zz99Yy88Xx77Ww66Vv55Uu44 ok", "nvapi-Zz99Yy88Xx77Ww66Vv55Uu44" },
        { "ngc cli variable", "NGC_CLI_API_KEY: opaquengcvalue42", "opaquengcvalue42" },
        { "bearer header", "Authorization: Bearer sk-local-0123456789abcdefghij", "sk-local-0123456789abcdefghij" },
        { "bearer opaque", "curl -H \"Authorization: Bearer abc.def.ghi123\" http://x", "abc.def.ghi123" },
        { "bearer in json header", "{\"Authorization\": \"Bearer q9w8e7r6t5y4\"}", "q9w8e7r6t5y4" },
        { "basic auth header", "Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==" },
        { "password in https url", "pulling from https://deploy:s3cr3tP4ss@registry.example.com/v2/", "s3cr3tP4ss" },
        { "password in postgres url", "DATABASE_URL postgres://app:hunter2pass@db:5432/webui", "hunter2pass" },
        { "password only in redis url", "connecting to redis://:onlypassword@redis:6379/0", "onlypassword" },
        { "vllm --api-key flag", "vllm serve Qwen/Qwen3-8B --api-key sk-my-local-key --port 8000", "sk-my-local-key" },
        { "flag with equals", "--api-key=token123456 --port 8000", "token123456" },
        { "hf token flag", "hf download org/repo --token hf_secretvalue", "hf_secretvalue" },
        { "vllm non-default args", "INFO 11-26 17:01:05 [utils.py:328] non-default args: {'model_tag': 'x', 'api_key': ['my-vllm-key'], 'port': 8000}", "my-vllm-key" },
        { "python repr token", "{'hf_token': 'abc-python-token'}", "abc-python-token" },
        { "json api key", "{\"api_key\": \"xyz-json-key\", \"model\": \"m\"}", "xyz-json-key" },
        { "json password with space", "{\"password\":\"p@ss w0rd\"}", "p@ss w0rd" },
        { "plain assignment", "password=hunter2", "hunter2" },
        { "yaml style", "PASSWORD: hunter3", "hunter3" },
        { "quoted value with space", "DB_PASSWORD='quoted secret value'", "quoted secret value" },
        { "openai project key", "OPENAI_API_KEY=sk-proj-AbCdEfGhIjKlMnOpQrStUvWx", "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx" },
        { "anthropic key bare", "key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv loaded", "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv" },
        { "github classic token", "cloning with ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789" },
        { "github fine-grained token", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "github_pat_11ABCDEFG0123456789_abcdefghijklmnop" },
        { "aws access key id", "aws key AKIAIOSFODNN7EXAMPLE in use", "AKIAIOSFODNN7EXAMPLE" },
        { "aws secret key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
        { "slack bot token", "posting via xoxb-123456789012-abcdefghijkl", "xoxb-123456789012-abcdefghijkl" },
        { "gitlab token", "glpat-AbCdEfGhIjKlMnOpQrSt used", "glpat-AbCdEfGhIjKlMnOpQrSt" },
        { "jwt", "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U" },
        { "qdrant env key", "QDRANT__SERVICE__API_KEY=qd-opaque-secret", "qd-opaque-secret" },
        { "qdrant header", "api-key: qdrantkey123", "qdrantkey123" },
        { "x-api-key header", "X-Api-Key: abc123xyz", "abc123xyz" },
        { "oauth client secret", "client_secret=oauthsecret99", "oauthsecret99" },
        { "token in query string", "GET /callback?access_token=querytok42&state=1", "querytok42" },
        { "secret key setting", "WEBUI_SECRET_KEY: webuisecret77", "webuisecret77" },
        { "passwd field", "passwd=oldschool1", "oldschool1" },
    };

    [Theory]
    [MemberData(nameof(Secrets))]
    public void Redact_SecretShape_IsMaskedAndTheRestKept(string shape, string line, string secret)
    {
        var redacted = LogRedactor.Redact(line);

        Assert.DoesNotContain(secret, redacted, StringComparison.Ordinal);
        Assert.Contains(LogRedactor.Mask, redacted, StringComparison.Ordinal);
        // What came before the secret is still there to read (for all but the bare-token shapes it names the secret).
        var before = line[..line.IndexOf(secret, StringComparison.Ordinal)];
        var keep = before.Length > 12 ? before[..12] : string.Empty;
        Assert.True(redacted.StartsWith(keep, StringComparison.Ordinal), $"{shape}: '{redacted}' lost its start '{keep}'");
    }

    [Fact]
    public void Redact_SeveralSecretsInOneLine_AllGo()
    {
        var line = "HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWx NGC_API_KEY=nvapi-Ab12Cd34Ef56Gh78Ij90Kl url=https://u:pw12345@h/x";

        var redacted = LogRedactor.Redact(line);

        Assert.Equal("HF_TOKEN=[REDACTED] NGC_API_KEY=[REDACTED] url=https://u:[REDACTED]@h/x", redacted);
    }

    /// <summary>Lines vLLM and the other services really print that look a little like secrets and are not.</summary>
    [Theory]
    [InlineData("INFO 11-26 17:01:05 [utils.py:328] non-default args: {'model_tag': 'Qwen/Qwen3-8B', 'port': 8000, 'served_model_name': ['qwen3-8b']}")]
    [InlineData("Initializing a V1 LLM engine (v0.11.0) with config: model='Qwen/Qwen3-8B', tokenizer='Qwen/Qwen3-8B', max_seq_len=32768, tokenizer_mode=auto")]
    [InlineData("INFO 11-26 17:01:09 [kv_cache_utils.py:1087] GPU KV cache size: 455,168 tokens")]
    [InlineData("vllm serve Qwen/Qwen3-8B --max-num-batched-tokens 8192 --tokenizer Qwen/Qwen3-8B --max-tokens 10")]
    [InlineData("INFO:     127.0.0.1:51234 - \"POST /v1/chat/completions HTTP/1.1\" 200 OK")]
    [InlineData("INFO 11-26 17:01:12 [api_server.py:1880] Starting vLLM API server 0 on http://0.0.0.0:8000")]
    [InlineData("Avg prompt throughput: 12.3 tokens/s, Avg generation throughput: 45.6 tokens/s, Running: 1 reqs")]
    [InlineData("PWD=/home/nvidia")]
    [InlineData("Downloading https://huggingface.co/Qwen/Qwen3-8B/resolve/main/config.json")]
    [InlineData("{\"max_tokens\": 128, \"prompt_tokens\": 12, \"total_tokens\": 140}")]
    [InlineData("disk-usage-report-2026 task-123456789012345678901")]
    [InlineData("")]
    public void Redact_OrdinaryLine_IsUnchanged(string line) => Assert.Equal(line, LogRedactor.Redact(line));

    [Fact]
    public void KnownSecretValues_AreMaskedWordForWord_WhateverTheirShape()
    {
        // Shapes the patterns do not know: a token an operator made up, and a passphrase with spaces.
        var token = $"plain{Guid.NewGuid():N}";
        var passphrase = $"correct horse {Guid.NewGuid():N} staple";
        LogRedactor.AddKnownSecrets([token, passphrase, "short"]);

        Assert.Equal("401 for [REDACTED] at /api/x", LogRedactor.Redact($"401 for {token} at /api/x"));
        Assert.Equal("unlock with '[REDACTED]' failed", LogRedactor.Redact($"unlock with '{passphrase}' failed"));
        // Too short to mask word for word: it would mask ordinary words.
        Assert.Equal("a short line", LogRedactor.Redact("a short line"));
    }

    [Fact]
    public void AValueThatContainsAnother_IsMaskedWhole()
    {
        var inner = $"inner{Guid.NewGuid():N}";
        var outer = $"x{inner}y";
        LogRedactor.AddKnownSecrets([inner]);
        LogRedactor.AddKnownSecrets([outer]);

        Assert.Equal("[REDACTED] and [REDACTED]", LogRedactor.Redact($"{outer} and {inner}"));
    }

    [Fact]
    public void ACommandsError_IsMaskedBeforeItCanBeLoggedOrAnswered()
    {
        var token = $"plain{Guid.NewGuid():N}";
        LogRedactor.AddKnownSecrets([token]);

        var error = new SparkControl.Core.Remote.SparkCommandException("spark-1", $"hf download failed: bad token {token}", 1, $"stderr: {token}");

        Assert.DoesNotContain(token, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, error.Output, StringComparison.Ordinal);
    }
}
