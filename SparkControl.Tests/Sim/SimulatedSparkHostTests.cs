using System.Collections.Immutable;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Time.Testing;
using SparkControl.Core.Hosts;
using SparkControl.Sim.Hosting;
using SparkControl.Sim.Server;
using SparkControl.Tests.Infrastructure;
using SparkControl.Core.Remote;

namespace SparkControl.Tests.Sim;

public sealed class SimulatedSparkHostTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
    private SimulatedSparkHost _host = null!;

    public Task InitializeAsync()
    {
        _host = new SimulatedSparkHost(new SimSparkSettings { Name = "sim", FixedLoadTime = TimeSpan.FromSeconds(10), TokensPerSecond = 1000 }, _time);
        return Task.CompletedTask;
    }

    private static ContainerLaunchSpec Model(params string[] extra) => new()
    {
        Name = "sparkcontrol-llm",
        Image = "vllm/vllm-openai:v0.11.0",
        Entrypoint = "vllm",
        Command = ["serve", "org/model", "--served-model-name", "m", "--port", "8000", .. extra],
        Labels = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal, [KeyValuePair.Create(ContainerLabels.Role, ContainerLabels.ModelRole)]),
    };

    /// <summary>Moves the fake clock a second at a time until the container has exited.</summary>
    private async Task<ContainerInfo> RunUntilExitAsync(string name)
    {
        ContainerInfo? info = null;
        await Wait.UntilAsync(async () =>
        {
            info = await _host.InspectContainerAsync(name, CancellationToken.None);
            if (info!.Status == ContainerStatus.Exited)
            {
                return true;
            }

            _time.Advance(TimeSpan.FromSeconds(1));
            return false;
        }, $"{name} exited", poll: TimeSpan.FromMilliseconds(5));
        return info!;
    }

    [Fact]
    public async Task OutOfMemory_ExitsWith137AndOomKilled()
    {
        _host.FailNextLaunch(SimFailure.OutOfMemory);
        await _host.RunContainerAsync(ContainerLaunch.Of(Model()), CancellationToken.None);

        var info = await RunUntilExitAsync("sparkcontrol-llm");

        Assert.Equal(137, info.ExitCode);
        Assert.True(info.OomKilled);
        Assert.Contains("Exited (137)", (await _host.ListContainersAsync(CancellationToken.None)).Single().Status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadFlagFailure_ExitsWith1AndAValueErrorLine()
    {
        _host.FailNextLaunch(SimFailure.BadFlag);
        await _host.RunContainerAsync(ContainerLaunch.Of(Model()), CancellationToken.None);

        var info = await RunUntilExitAsync("sparkcontrol-llm");
        var logs = await _host.GetLogsAsync("sparkcontrol-llm", LogQuery.Last(5), CancellationToken.None);

        Assert.Equal(1, info.ExitCode);
        Assert.False(info.OomKilled);
        Assert.StartsWith("ValueError: ", logs[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownFlag_ExitsWith2LikeArgparse()
    {
        await _host.RunContainerAsync(ContainerLaunch.Of(Model("--no-such-flag")), CancellationToken.None);

        var info = await RunUntilExitAsync("sparkcontrol-llm");
        var logs = await _host.GetLogsAsync("sparkcontrol-llm", LogQuery.Last(5), CancellationToken.None);

        Assert.Equal(2, info.ExitCode);
        Assert.Contains("vllm serve: error: unrecognized arguments: --no-such-flag", logs);
    }

    [Fact]
    public async Task CrashMidLoad_ExitsWith1AfterSomeLoading()
    {
        _host.FailNextLaunch(SimFailure.CrashMidLoad);
        await _host.RunContainerAsync(ContainerLaunch.Of(Model()), CancellationToken.None);

        var info = await RunUntilExitAsync("sparkcontrol-llm");
        var logs = await _host.GetLogsAsync("sparkcontrol-llm", new LogQuery(null), CancellationToken.None);

        Assert.Equal(1, info.ExitCode);
        Assert.Contains(logs, l => l.Contains("Starting to load model org/model", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.StartsWith("RuntimeError: Engine core initialization failed", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains("Application startup complete", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Stop_RunningModel_ExitsCleanlyAndFollowEnds()
    {
        await _host.RunContainerAsync(ContainerLaunch.Of(Model()), CancellationToken.None);
        var followed = new List<string>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var follow = Task.Run(async () =>
        {
            await foreach (var line in _host.FollowLogsAsync("sparkcontrol-llm", new LogQuery(null), cts.Token))
            {
                lock (followed)
                {
                    followed.Add(line);
                }
            }
        });
        await Wait.UntilAsync(() =>
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            return _host.ModelServers["sparkcontrol-llm"].State == SimServerState.Serving;
        }, "the model serves", poll: TimeSpan.FromMilliseconds(5));

        await _host.StopContainerAsync("sparkcontrol-llm", TimeSpan.FromSeconds(10), CancellationToken.None);
        await follow.WaitAsync(cts.Token);

        var info = await _host.InspectContainerAsync("sparkcontrol-llm", CancellationToken.None);
        Assert.Equal(ContainerStatus.Exited, info!.Status);
        Assert.Equal(0, info.ExitCode);
        Assert.Contains("INFO:     Application startup complete.", followed);
        Assert.Equal("INFO:     Finished server process [1]", followed[^1]);
    }

    [Fact]
    public async Task AModelsPort_IsTheHostsWhileItLoads_WhileItServes_AndAfterItStops()
    {
        // Another panel's server taking this port while the model loads would answer this host's probes with its model.
        // A plain bind (no sharing options, as when a bind to port 0 looks for a free port) must find it taken.
        static void AssertTaken(int port) => Assert.Equal(98 /* EADDRINUSE */, PlainBind.ErrorBinding(port));

        await _host.RunContainerAsync(ContainerLaunch.Of(Model()), CancellationToken.None);
        var endpoint = _host.GetEndpoint(8000);
        AssertTaken(endpoint.Port);

        await Wait.UntilAsync(() =>
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            return _host.ModelServers["sparkcontrol-llm"].State == SimServerState.Serving;
        }, "the model serves", poll: TimeSpan.FromMilliseconds(5));
        using var client = new HttpClient { BaseAddress = endpoint, Timeout = TimeSpan.FromSeconds(30) };
        Assert.Contains("\"m\"", await client.GetStringAsync("/v1/models"), StringComparison.Ordinal);
        AssertTaken(endpoint.Port);

        await _host.StopContainerAsync("sparkcontrol-llm", TimeSpan.FromSeconds(10), CancellationToken.None);
        AssertTaken(endpoint.Port);
        Assert.Equal(endpoint, _host.GetEndpoint(8000));
    }

    [Fact]
    public async Task RunContainer_NameInUse_IsRefusedLikeDocker()
    {
        await _host.RunContainerAsync(ContainerLaunch.Of(Model()), CancellationToken.None);

        var error = await Assert.ThrowsAsync<SparkCommandException>(() => _host.RunContainerAsync(ContainerLaunch.Of(Model()), CancellationToken.None));

        Assert.Contains("is already in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_EveryCallFails()
    {
        _host.Reachable = false;

        await Assert.ThrowsAsync<SparkUnreachableException>(() => _host.ListContainersAsync(CancellationToken.None));
        await Assert.ThrowsAsync<SparkUnreachableException>(() => _host.GetMemoryInfoAsync(CancellationToken.None));
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>bind(2) with no socket options: .NET sets SO_REUSEADDR on every TCP bind, which would share a bound port.</summary>
    private static class PlainBind
    {
        public static int ErrorBinding(int port)
        {
            var fd = Socket(2 /* AF_INET */, 1 /* SOCK_STREAM */, 0);
            Assert.True(fd >= 0, $"socket() failed: {Marshal.GetLastPInvokeError()}");
            try
            {
                // struct sockaddr_in: family, port in network order, 127.0.0.1, eight zero bytes.
                byte[] address = [2, 0, (byte)(port >> 8), (byte)port, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
                return Bind(fd, address, address.Length) == 0 ? 0 : Marshal.GetLastPInvokeError();
            }
            finally
            {
                _ = Close(fd);
            }
        }

        [DllImport("libc", EntryPoint = "socket", SetLastError = true)]
        private static extern int Socket(int domain, int type, int protocol);

        [DllImport("libc", EntryPoint = "bind", SetLastError = true)]
        private static extern int Bind(int fd, byte[] address, int length);

        [DllImport("libc", EntryPoint = "close")]
        private static extern int Close(int fd);
    }
}
