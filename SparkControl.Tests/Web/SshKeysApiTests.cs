using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Remote;

namespace SparkControl.Tests.Web;

/// <summary>Keys uploaded through the API: kept 0600 in the data directory, listed by fingerprint, never echoed or logged.</summary>
public sealed class SshKeysApiTests : IAsyncLifetime
{
    private readonly LogCollector _logs = new();
    private readonly TempDirectory _made = new("sc-keygen");
    private SparkControlApp _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _app = await SparkControlApp.StartAsync(configureServices: s => s.AddSingleton<ILoggerProvider>(_logs));
        _client = _app.CreateClient();
    }

    private async Task<(string PrivateKey, string Fingerprint)> MakeKeyAsync(string type = "ed25519", string passphrase = "")
    {
        var path = _made.File($"{type}-{Guid.NewGuid():N}");
        (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-q", "-t", type, "-N", passphrase, "-f", path])).EnsureSuccess("ssh-keygen");
        var fingerprint = (await ProcessRunner.RunAsync(Tools.SshKeygen, ["-lf", path + ".pub"])).Stdout.Split(' ')[1];
        return (await File.ReadAllTextAsync(path), fingerprint);
    }

    [Fact]
    public async Task Put_AKey_IsStored0600AndListedByItsFingerprintOnly()
    {
        var (key, fingerprint) = await MakeKeyAsync();

        using var put = await _client.PutAsJsonAsync("/api/ssh-keys/spark-1", new { privateKey = key });
        var listed = await _client.GetStringAsync("/api/ssh-keys");
        var path = Path.Combine(_app.DataDirectory, "ssh-keys", "spark-1");

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var view = JsonDocument.Parse(listed).RootElement[0];
        Assert.Equal(fingerprint, view.GetProperty("fingerprint").GetString());
        Assert.Equal("ssh-ed25519", view.GetProperty("type").GetString());
        Assert.Equal(path, view.GetProperty("path").GetString());
        Assert.Equal(key, await File.ReadAllTextAsync(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        var body = key.Split('\n')[1];
        Assert.DoesNotContain(body, listed, StringComparison.Ordinal);
        Assert.DoesNotContain(body, await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.DoesNotContain(_logs.Messages, m => m.Contains(body, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Put_AKeyWithAPassphrase_IsKeptAndSaysSo()
    {
        var (key, _) = await MakeKeyAsync(passphrase: "correct horse");

        using var put = await _client.PutAsJsonAsync("/api/ssh-keys/locked", new { privateKey = key });

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.True((await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("encrypted").GetBoolean());
    }

    [Theory]
    [InlineData("not a key at all")]
    [InlineData("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n")]
    [InlineData("")]
    public async Task Put_SomethingThatIsNotAKey_Is400AndNothingIsStored(string content)
    {
        using var put = await _client.PutAsJsonAsync("/api/ssh-keys/spark-1", new { privateKey = content });

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.True((await put.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("privateKey", out _));
        Assert.False(File.Exists(Path.Combine(_app.DataDirectory, "ssh-keys", "spark-1")));
    }

    [Fact]
    public async Task Put_MoreThan64KiB_Is400()
    {
        var (key, _) = await MakeKeyAsync();

        using var put = await _client.PutAsJsonAsync("/api/ssh-keys/spark-1", new { privateKey = key + new string('\n', SshKeyFiles.MaxKeyBytes) });

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Contains("at most 64 KiB", await put.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("..%2F..%2Fetc%2Fcron.d%2Fx")]
    [InlineData("a%3Bb")]
    [InlineData("key%0A")]
    public async Task Put_AHostileName_Is400(string name)
    {
        var (key, _) = await MakeKeyAsync();

        using var put = await _client.PutAsJsonAsync($"/api/ssh-keys/{name}", new { privateKey = key });

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
    }

    [Fact]
    public async Task Delete_AKeyASparkUses_Is409_AnUnusedOne_204()
    {
        var (key, _) = await MakeKeyAsync();
        await _client.PutAsJsonAsync("/api/ssh-keys/used", new { privateKey = key });
        await _client.PutAsJsonAsync("/api/ssh-keys/spare", new { privateKey = key });
        using var spark = await _client.PostAsJsonAsync("/api/sparks", new { name = "spark-1", host = "10.0.0.5", user = "nvidia", keyPath = Path.Combine(_app.DataDirectory, "ssh-keys", "used") });

        using var used = await _client.DeleteAsync("/api/ssh-keys/used");
        using var spare = await _client.DeleteAsync("/api/ssh-keys/spare");

        Assert.Equal(HttpStatusCode.Created, spark.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, used.StatusCode);
        Assert.Contains("spark-1", await used.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, spare.StatusCode);
    }

    [Theory]
    [InlineData("/etc/shadow")]
    [InlineData("/dev/zero")]
    [InlineData("/root/.ssh/id_ed25519")]
    public async Task AddSpark_WithAKeyOutsideTheKeyDirectories_Is400(string keyPath)
    {
        using var spark = await _client.PostAsJsonAsync("/api/sparks", new { name = "spark-1", host = "10.0.0.5", user = "nvidia", keyPath });
        var problem = await spark.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.BadRequest, spark.StatusCode);
        Assert.Contains("is not in a key directory", problem.GetProperty("errors").GetProperty("keyPath")[0].GetString(), StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
        _made.Dispose();
    }
}
