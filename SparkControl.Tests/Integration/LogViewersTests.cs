using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SparkControl.Core.Catalog;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;

namespace SparkControl.Tests.Integration;

/// <summary>
/// Many people watching one service's log on a Spark whose sshd is configured like a Spark's (OpenSSH's default of 10
/// sessions per connection), while a swap and the health checks need the same connection.
/// </summary>
[Collection(DockerCollection.Name)]
public sealed partial class LogViewersTests(DockerdFixture docker, BrowserFixture browser) : BrowserTest(browser)
{
    private const int BrowserViewers = 5;
    private const int ApiViewers = 15;

    private readonly SshdFixture _sshd = new(sessionPathFromBin: false, maxSessions: 10);
    private readonly TempDirectory _data = new("sc-data");
    private readonly TempDirectory _models = new("sc-models");
    private readonly string _chatty = $"chatty-{Guid.NewGuid().ToString("N")[..8]}";
    private readonly int _modelPort = Tools.FreePort();
    private SparkBin _bin = null!;

    public override async Task InitializeAsync()
    {
        await _sshd.InitializeAsync();
        _bin = new SparkBin(docker);
        _bin.SetDockerRunEnvironment(("SPARKCONTROL_SIM_LOAD_SECONDS", "2"));
        var model = await SparkOnDocker.CreateLocalModelAsync(_models.Path, "ft-a");
        await SparkOnDocker.WriteAsync(
            _data.Path, _sshd, SparkOnDocker.Definition(_sshd, _bin, _data.Path, [_models.Path]),
            [SparkOnDocker.Model("ft-a", new LocalSource("spark-1", model), _modelPort)],
            [new ServiceDefinition { Spark = "spark-1", Name = "chatty", Kind = ServiceKind.Other, Container = _chatty }]);

        // A service that writes a numbered line five times a second, as a busy server's log does.
        await docker.DockerAsync([
            "run", "-d", "--name", _chatty, "--network", "host", "-v", "/usr:/usr:ro",
            "--entrypoint", "/usr/bin/sh", DockerdFixture.BaseImage, "-c", "trap 'exit 0' TERM; i=0; while :; do echo \"tick $i\"; i=$((i+1)); sleep 0.2; done"]);
    }

    [GeneratedRegex(@"tick (\d+)")]
    private static partial Regex Tick();

    private static int LastTick(string text) =>
        Tick().Matches(text).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).DefaultIfEmpty(-1).Max();

    /// <summary>One API client following the log: the highest tick it has read, and how its stream ended if it did.</summary>
    private sealed class ApiViewer
    {
        private int _last = -1;

        public ApiViewer(HttpClient client, CancellationToken cancellationToken) =>
            Reading = Task.Run(async () =>
            {
                using var response = await client.GetAsync("/api/services/spark-1/chatty/logs/stream?tail=5", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                response.EnsureSuccessStatusCode();
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken));
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    Volatile.Write(ref _last, Math.Max(Volatile.Read(ref _last), LastTick(line)));
                }
            }, CancellationToken.None);

        public Task Reading { get; }

        public int Last => Volatile.Read(ref _last);
    }

    [Fact]
    public async Task TwentyViewers_OnOneService_WhileASwapAndHealthChecksRun_AllSeeTheLogLive_AndTheSwapEndsReady()
    {
        await using var app = await SparkControlApp.StartAsync(SparkOnDocker.AppSettings(), _data.Path);
        using var client = app.CreateClient();
        client.Timeout = Timeout.InfiniteTimeSpan;
        using var stop = new CancellationTokenSource();
        var pages = new List<IPage>();
        var api = new List<ApiViewer>();
        try
        {
            for (var i = 0; i < BrowserViewers; i++)
            {
                var page = await NewPageAsync(app.BaseAddress);
                pages.Add(page);
                await page.GotoAsync("/services/spark-1/chatty");
            }

            for (var i = 0; i < ApiViewers; i++)
            {
                api.Add(new ApiViewer(client, stop.Token));
            }

            // Every viewer is attached (each has seen a line); from here on, each must see lines written later.
            foreach (var page in pages)
            {
                await Microsoft.Playwright.Assertions.Expect(page.GetByTestId("log-lines")).ToContainTextAsync(Tick());
            }

            await Wait.UntilAsync(() => api.All(v => v.Last >= 0 || v.Reading.IsCompleted), "every API viewer has read a line", Wait.ContainerTimeout);
            var attached = app.Get<TimeProvider>().GetUtcNow();
            var tickThen = LastTick((await docker.DockerAsync(["logs", "--tail", "1", _chatty])).Stdout);

            var swap = await SwapApi.SwapAsync(client, "ft-a");

            var target = tickThen + 10;
            await Wait.UntilAsync(() => api.All(v => v.Last >= target || v.Reading.IsCompleted), $"every API viewer reads tick {target}", Wait.ContainerTimeout);
            var pageTicks = new List<int>();
            foreach (var page in pages)
            {
                await Wait.UntilAsync(async () => LastTick(await page.GetByTestId("log-lines").InnerTextAsync()) >= target, $"every page shows tick {target}", Wait.ContainerTimeout);
                pageTicks.Add(LastTick(await page.GetByTestId("log-lines").InnerTextAsync()));
            }

            var health = await client.GetFromJsonAsync<JsonElement>("/api/services");
            var chatty = health.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "chatty");
            var followed = api.Where(v => v.Reading.IsCompleted).Select(v => v.Reading.Exception?.GetBaseException().Message ?? "ended").ToList();

            Assert.Equal("ready", swap.GetProperty("phase").GetString());
            Assert.Empty(followed);
            Assert.All(api, v => Assert.True(v.Last >= target));
            Assert.All(pageTicks, t => Assert.True(t >= target));
            Assert.Equal("Healthy", chatty.GetProperty("status").GetString());
            Assert.True(chatty.GetProperty("checkedAt").GetDateTimeOffset() > attached, "the health checks went on while the viewers watched");
            foreach (var page in pages)
            {
                await Microsoft.Playwright.Assertions.Expect(page.GetByTestId("log-state")).ToHaveTextAsync("following");
            }

            await pages[0].SaveScreenshotAsync("log-viewers-twenty.png");
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var page in pages)
            {
                await page.Context.CloseAsync();
            }
        }
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await docker.DockerAsync(["rm", "-f", _chatty, SparkControl.Core.Launch.LaunchSpecs.ModelContainerName], check: false);
        _bin.Dispose();
        await _sshd.DisposeAsync();
        _data.Dispose();
        _models.Dispose();
    }
}
