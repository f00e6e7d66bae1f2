using System.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Secrets;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Remote;

namespace SparkControl.Tests.Integration;

[Collection(DockerCollection.Name)]
public sealed class DownloadAndLoginTests(DockerdFixture docker, SshdFixture sshd) : IAsyncLifetime
{
    private SparkBin _bin = null!;
    private SshTestSpark _spark = null!;
    private DockerSparkHost _host = null!;

    public Task InitializeAsync()
    {
        _bin = new SparkBin(docker);
        _spark = new SshTestSpark(sshd, pathPrefix: [_bin.Path]);
        _host = _spark.CreateHost();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task HfDownload_ReportsGrowingBytesAndLeavesTheCacheLayout()
    {
        using var cache = new TempDirectory("sc-hf");
        var download = new HfDownload("Qwen/Qwen3-8B", null, cache.Path, 8L << 20);
        // The download waits after its first quarter until the test has seen a partial size: however loaded the machine,
        // progress is reported while the bytes grow.
        await File.WriteAllTextAsync(_bin.File("hf.hold"), string.Empty);

        var progress = new List<DownloadProgress>();
        await foreach (var update in _host.DownloadModelAsync(download, CancellationToken.None))
        {
            progress.Add(update);
            if (!update.Completed && update.BytesDone > 0 && update.BytesDone < 8L << 20)
            {
                await File.WriteAllTextAsync(_bin.File("hf.go"), string.Empty);
            }
        }

        var folder = Path.Combine(cache.Path, "hub", "models--Qwen--Qwen3-8B");
        Assert.True(progress.Count >= 2, $"expected progress while downloading, got {progress.Count} update(s)");
        Assert.True(progress[^1].Completed);
        Assert.InRange(progress[^1].BytesDone, 8L << 20, (8L << 20) + 100_000);
        Assert.True(progress.Zip(progress.Skip(1)).All(p => p.First.BytesDone <= p.Second.BytesDone));
        Assert.Contains(progress, p => !p.Completed && p.BytesDone > 0 && p.BytesDone < 8L << 20);
        var snapshot = Assert.Single(Directory.GetDirectories(Path.Combine(folder, "snapshots")));
        Assert.NotNull(new FileInfo(Path.Combine(snapshot, "model.safetensors")).LinkTarget);
        Assert.Equal(Path.GetFileName(snapshot), await File.ReadAllTextAsync(Path.Combine(folder, "refs", "main")));
    }

    [Fact]
    public async Task HfDownload_GatedRepo_NeedsTheTokenWhichTravelsOnStdin()
    {
        using var cache = new TempDirectory("sc-hf");
        await File.WriteAllTextAsync(_bin.File("hf.require-token"), string.Empty);
        var download = new HfDownload("meta-llama/Llama-3.3-70B-Instruct", null, cache.Path, null);

        var refused = await Assert.ThrowsAsync<SparkCommandException>(async () =>
        {
            await foreach (var _ in _host.DownloadModelAsync(download, CancellationToken.None))
            {
            }
        });
        var token = $"hf_{Guid.NewGuid():N}";
        await _spark.Secrets.SetAsync(SecretStore.HfToken, token, CancellationToken.None);
        using var watcher = ProcessWatch.ForSecret(token);
        DownloadProgress? last = null;
        await foreach (var update in _host.DownloadModelAsync(download, CancellationToken.None))
        {
            last = update;
        }

        Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        Assert.True(last!.Completed);
        Assert.Equal(0, watcher.Stop());
    }

    [Fact]
    public async Task HfDownload_AToolThatQuotesTheToken_IsMasked_WhateverTheTokensShape()
    {
        using var cache = new TempDirectory("sc-hf");
        await File.WriteAllTextAsync(_bin.File("hf.reject-token"), string.Empty);
        // Not shaped like a Hugging Face token: only knowing the value can mask it.
        var token = $"plain-{Guid.NewGuid():N}";
        await _spark.Secrets.SetAsync(SecretStore.HfToken, token, CancellationToken.None);

        var refused = await Assert.ThrowsAsync<SparkCommandException>(async () =>
        {
            await foreach (var _ in _host.DownloadModelAsync(new HfDownload("org/model", null, cache.Path, null), CancellationToken.None))
            {
            }
        });

        Assert.Contains("401 Client Error: Unauthorized: the token [REDACTED] is invalid", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, refused.Message + refused.Output + refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RegistryLogin_WithTheKeyOnStdin_SucceedsAndTheKeyIsNeverOnACommandLine()
    {
        await using var registry = await LocalRegistry.StartAsync("$oauthtoken", $"nvapi-{Guid.NewGuid():N}");
        using var watcher = ProcessWatch.ForSecret(registry.Password);

        await _host.RegistryLoginAsync(registry.Address, "$oauthtoken", registry.Password, CancellationToken.None);
        var wrong = await Assert.ThrowsAsync<SparkCommandException>(() => _host.RegistryLoginAsync(registry.Address, "$oauthtoken", "not-the-key", CancellationToken.None));

        Assert.Equal(0, watcher.Stop());
        Assert.True(watcher.Scans > 5, "the process list was watched while the login ran");
        var config = await File.ReadAllTextAsync(Path.Combine(docker.ConfigDirectory, "config.json"));
        Assert.Contains(registry.Address, config, StringComparison.Ordinal);
        Assert.Contains("unauthorized", wrong.Message, StringComparison.OrdinalIgnoreCase);
    }

    public async Task DisposeAsync()
    {
        await _spark.DisposeAsync();
        _bin.Dispose();
    }
}

/// <summary>Scans every process's command line, over and over, for a secret until stopped; reports how often it was seen.</summary>
public sealed class ProcessWatch : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<int> _scan;
    private int _scans;

    private ProcessWatch(string secret) => _scan = Task.Run(() => Scan(secret));

    public int Scans => Volatile.Read(ref _scans);

    public static ProcessWatch ForSecret(string secret) => new(secret);

    /// <summary>Stops watching and returns how many command lines held the secret.</summary>
    public int Stop()
    {
        _stop.Cancel();
        return _scan.GetAwaiter().GetResult();
    }

    private int Scan(string secret)
    {
        var seen = 0;
        while (!_stop.IsCancellationRequested)
        {
            foreach (var directory in Directory.EnumerateDirectories("/proc"))
            {
                try
                {
                    if (File.ReadAllText(Path.Combine(directory, "cmdline")).Contains(secret, StringComparison.Ordinal))
                    {
                        seen++;
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }

            Interlocked.Increment(ref _scans);
        }

        return seen;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _stop.Dispose();
    }
}

/// <summary>Debian's docker-registry on loopback with htpasswd authentication, over plain HTTP.</summary>
public sealed class LocalRegistry : IAsyncDisposable
{
    private readonly TempDirectory _directory = new("sc-registry");
    private Process? _process;

    private LocalRegistry(string password) => Password = password;

    public string Address { get; private set; } = string.Empty;
    public string Password { get; }

    public static async Task<LocalRegistry> StartAsync(string user, string password)
    {
        var registry = new LocalRegistry(password);
        var port = Tools.FreePort();
        registry.Address = $"127.0.0.1:{port}";
        var htpasswd = registry._directory.File("htpasswd");
        // -i reads the password from stdin: even the test's own setup keeps it off a command line.
        var hash = await ProcessRunner.RunAsync("/usr/bin/htpasswd", ["-niB", user], stdin: password + "\n");
        await File.WriteAllTextAsync(htpasswd, hash.EnsureSuccess("htpasswd").Stdout);
        var config = registry._directory.File("config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: warn
            storage:
              filesystem:
                rootdirectory: {registry._directory.File("data")}
            http:
              addr: {registry.Address}
            auth:
              htpasswd:
                realm: sparkcontrol-test
                path: {htpasswd}
            """);
        var info = new ProcessStartInfo("/usr/bin/docker-registry") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add(config);
        registry._process = Process.Start(info)!;
        _ = registry._process.StandardError.ReadToEndAsync();
        _ = registry._process.StandardOutput.ReadToEndAsync();
        await Wait.UntilAsync(() => Tools.AcceptsConnectionsAsync(port), "the registry listens", TimeSpan.FromSeconds(30));
        return registry;
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        _directory.Dispose();
        return ValueTask.CompletedTask;
    }
}
