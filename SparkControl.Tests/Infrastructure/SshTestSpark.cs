using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Remote;
using SparkControl.Core.Secrets;
using SparkControl.Core.Storage;
using SparkControl.Tests.Core;

namespace SparkControl.Tests.Infrastructure;

/// <summary>
/// The production SSH stack (host key store, secrets, tracker, metrics, factory) pointed at a test sshd, with its
/// own data directory. By default the sshd's host key is pinned up front; tests of first contact ask for it not to be.
/// </summary>
public sealed class SshTestSpark : IAsyncDisposable
{
    private readonly TempDirectory? _ownedData;

    /// <param name="dataDirectory">An existing data directory to use (and leave in place); by default a fresh one.</param>
    public SshTestSpark(SshdFixture sshd, bool pinHostKey = true, SshOptions? options = null, string name = "spark-t", IEnumerable<string>? pathPrefix = null, string? keyPath = null, int? port = null, string? dataDirectory = null)
    {
        _ownedData = dataDirectory is null ? new TempDirectory("sc-ssh") : null;
        var data = dataDirectory ?? _ownedData!.Path;
        if (pinHostKey)
        {
            var parts = sshd.HostPublicKey.Split(' ');
            File.WriteAllText(Path.Combine(data, HostKeyStore.FileName), $"[127.0.0.1]:{port ?? sshd.Port} {parts[0]} {parts[1]}\n");
        }

        Data = new DataDirectory(data);
        HostKeys = new HostKeyStore(Data, TimeProvider.System);
        Secrets = new SecretStore(Data, TimeProvider.System);
        Tracker = new ConnectivityTracker(TimeProvider.System);
        Meters = new TestMeterFactory();
        Metrics = new SparkControlMetrics(Meters);
        Definition = new SparkDefinition
        {
            Name = name,
            Host = sshd.Host,
            Port = port ?? sshd.Port,
            User = sshd.User,
            KeyPath = keyPath ?? sshd.ClientKeyPath,
            PathPrefix = [.. pathPrefix ?? []],
            Gpus = "none",
        };
        Options = new SparkControlOptions { Ssh = options ?? new SshOptions { RetryDelay = TimeSpan.FromMilliseconds(50), CircuitBreakDuration = TimeSpan.FromSeconds(2) } };
        // The key's own directory is allow-listed, as an operator allows ~/.ssh with SparkControl:Ssh:KeyDirectories.
        Keys = new SshKeyStore(Data, [Path.GetDirectoryName(Definition.KeyPath)!]);
        Factory = new SparkHostFactory(HostKeys, Secrets, Keys, Tracker, Metrics, TimeProvider.System, Microsoft.Extensions.Options.Options.Create(Options), NullLoggerFactory.Instance);
        Shell = Factory.CreateShell(Definition);
    }

    public DataDirectory Data { get; }
    public HostKeyStore HostKeys { get; }
    public SecretStore Secrets { get; }
    public SshKeyStore Keys { get; }
    public ConnectivityTracker Tracker { get; }
    public TestMeterFactory Meters { get; }
    public SparkControlMetrics Metrics { get; }
    public SparkDefinition Definition { get; }
    public SparkControlOptions Options { get; }
    public SparkHostFactory Factory { get; }
    public SshRemoteShell Shell { get; }

    public DockerSparkHost CreateHost(SparkDefinition? definition = null) =>
        new(definition ?? Definition, Shell, Secrets, TimeProvider.System, TimeSpan.FromMilliseconds(100));

    public async ValueTask DisposeAsync()
    {
        await Shell.DisposeAsync();
        Meters.Dispose();
        _ownedData?.Dispose();
    }
}
