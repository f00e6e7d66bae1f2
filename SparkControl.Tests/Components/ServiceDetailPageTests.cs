using System.Net;
using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MudBlazor;
using SparkControl.Core.Configuration;
using SparkControl.Core.Diagnostics;
using SparkControl.Core.Hosts;
using SparkControl.Core.Services;
using SparkControl.Core.Sparks;
using SparkControl.Core.Storage;
using SparkControl.Tests.Core;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;
using SparkControl.Web.Components.Pages;
using SparkControl.Core.Audit;
using SparkControl.Core.Catalog;
using SparkControl.Core.Launch;
using SparkControl.Core.Secrets;
using SparkControl.Core.Swaps;
using SparkControl.Tests.Swaps;
using SparkControl.Web.Components;

namespace SparkControl.Tests.Components;

/// <summary>The service detail page with the real monitors, reader, actions and audit log over a fake host and HTTP.</summary>
public sealed class ServiceDetailPageTests : UiTestContext
{
    private static readonly DateTimeOffset Start = new(2026, 11, 26, 10, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly FakeHttpHandler _http = new();
    private readonly TempDirectory _data = new();
    private readonly FakeSparkHost _host = new("spark-1");
    private readonly TestMeterFactory _meters = new();
    private readonly HealthMonitor _health;
    private readonly ModelServerMonitor _models;
    private readonly AuditLog _audit;
    private IRenderedComponent<MudDialogProvider> _dialogs = null!;

    public ServiceDetailPageTests()
    {
        var store = TestStores.Open(_data.Path);
        var fleet = new SparkFleet(_time);
        ServiceDefinition[] services =
        [
            new() { Spark = "spark-1", Name = "asr", Kind = ServiceKind.ParakeetAsr, Container = "asr", Port = 9000, MemoryLimitBytes = 16L << 30 },
            new() { Spark = "spark-1", Name = "llm", Kind = ServiceKind.VllmLlm, Container = "llm", Port = 8000 },
            new() { Spark = "spark-1", Name = "webui", Kind = ServiceKind.OpenWebUi, Url = "http://spark-1.test:8080" },
        ];
        fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "spark-1.test", User = "nvidia" }, _host, false)], [.. services], false));
        var settings = new ServiceSettingsStore(new DataDirectory(_data.Path), _time);
        var options = new StaticOptionsMonitor<SparkControlOptions>(new SparkControlOptions());
        var metrics = new SparkControlMetrics(_meters);
        var statusLog = new ServiceStatusLog(store);
        var http = new HttpClient(_http);
        _audit = new AuditLog(store, _time);
        _health = new HealthMonitor(fleet, new HealthProbe(http, _time), statusLog, metrics, new SparkControl.Core.Remote.ConnectivityTracker(_time), _time, options, NullLogger<HealthMonitor>.Instance);
        _models = new ModelServerMonitor(_health, http, _time, options, NullLogger<ModelServerMonitor>.Instance);
        var actions = new ServiceActions(fleet, _health, settings, _audit, metrics, NullLogger<ServiceActions>.Instance);
        var catalog = new ModelCatalog(_time);
        var swaps = new SwapOrchestrator(fleet, catalog, new LaunchPlanner(new SecretStore(new DataDirectory(_data.Path), _time)), _health, new SwapHistory(store),
            new RecordingDrainGate(), metrics, http, _time, options, NullLogger<SwapOrchestrator>.Instance);
        Services.AddSingleton(fleet).AddSingleton(_health).AddSingleton(_models).AddSingleton(actions).AddSingleton(new FleetSources(_health, swaps, fleet, catalog))
            .AddSingleton(new ServiceDetailReader(_health, _models, actions, statusLog, _time)).AddSingleton<TimeProvider>(_time);

        _http.Set(9000, "/health", FakeHttpHandler.Behaviour.Answer);
        _http.Set(8000, "/health", FakeHttpHandler.Behaviour.Answer);
        _http.Set(8000, "/v1/models", FakeHttpHandler.Behaviour.Answer, body: """{"object":"list","data":[{"id":"qwen3-8b","root":"Qwen/Qwen3-8B","max_model_len":32768}]}""");
        _http.Set(8080, "/health", FakeHttpHandler.Behaviour.Answer, body: """{"status":true}""");
        SetMetrics(generated: 1000);
        _host.Details["asr"] = new ContainerInfo
        {
            Id = "4f1c2d3e4b5a69788796a5b4c3d2e1f0",
            Name = "asr",
            Image = "nvcr.io/nim/nvidia/parakeet-tdt-0.6b-v2:1.0.0",
            ImageId = "sha256:9a8b7c",
            Status = ContainerStatus.Running,
            StartedAt = Start,
            RestartCount = 3,
            MemoryLimitBytes = 16L << 30,
            MemorySwapLimitBytes = 16L << 30,
        };
        _host.Details["llm"] = new ContainerInfo { Id = "llm-id-0123456789", Name = "llm", Image = "vllm/vllm-openai:v0.11.0", Status = ContainerStatus.Running, StartedAt = Start };
    }

    private void SetMetrics(double generated) => _http.Set(8000, "/metrics", FakeHttpHandler.Behaviour.Answer, body: $"""
        vllm:num_requests_running{'{'}model_name="qwen3-8b"{'}'} 3
        vllm:num_requests_waiting{'{'}model_name="qwen3-8b"{'}'} 2
        vllm:kv_cache_usage_perc{'{'}model_name="qwen3-8b"{'}'} 0.413
        vllm:generation_tokens_total{'{'}model_name="qwen3-8b"{'}'} {generated}
        """);

    private void SetContainers(ContainerStatus asr) =>
        _host.SetContainers(FakeSparkHost.Container("asr", asr), FakeSparkHost.Container("llm", ContainerStatus.Running));

    /// <summary>A history: the ASR was down for an hour, then came up; it has run for 2 h 5 min since.</summary>
    private async Task RunHistoryAsync()
    {
        _http.Set(9000, "/health", FakeHttpHandler.Behaviour.Refuse);
        SetContainers(ContainerStatus.Exited);
        await _health.CheckOnceAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromHours(1));
        _http.Set(9000, "/health", FakeHttpHandler.Behaviour.Answer);
        SetContainers(ContainerStatus.Running);
        _host.Details["asr"] = _host.Details["asr"] with { StartedAt = _time.GetUtcNow() };
        await _health.CheckOnceAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromMinutes(125));
    }

    private IRenderedComponent<ServiceDetailPage> RenderPage(string service)
    {
        RenderPopoverProvider();
        _dialogs = Render<MudDialogProvider>();
        return Render<ServiceDetailPage>(p => p.Add(c => c.Spark, "spark-1").Add(c => c.Service, service));
    }

    [Fact]
    public async Task Render_ShowsStatusUptimeContainerFactsLimitCaveatAndTimeline()
    {
        await RunHistoryAsync();

        var page = RenderPage("asr");

        page.WaitForAssertion(() => Assert.Equal("Healthy", page.Find("[data-testid=detail-status]").GetAttribute("data-status")));
        page.WaitForAssertion(() => Assert.Contains("up 2 h 5 min", page.Find("[data-testid=detail-reason]").TextContent, StringComparison.Ordinal));
        var facts = page.Find("[data-testid=container-facts]").TextContent;
        Assert.Contains("nvcr.io/nim/nvidia/parakeet-tdt-0.6b-v2:1.0.0", facts, StringComparison.Ordinal);
        Assert.Contains("4f1c2d3e4b5a", facts, StringComparison.Ordinal);
        Assert.Contains("sha256:9a8b7c", facts, StringComparison.Ordinal);
        Assert.Contains("Restarts3", facts.Replace(" ", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
        Assert.Equal("16 GiB / 16 GiB", page.Find("[data-testid=memory-limit]").TextContent.Trim());
        Assert.Contains("CUDA unified-memory allocations are not charged to the container's cgroup", page.Markup, StringComparison.Ordinal);
        Assert.Equal(["Unknown", "Down", "Healthy"], page.FindAll(".sc-timeline-segment").Select(s => s.GetAttribute("data-status")));
    }

    [Fact]
    public async Task Uptime_TicksWithTheClock_WithoutReloading()
    {
        await RunHistoryAsync();
        var page = RenderPage("asr");
        page.WaitForAssertion(() => Assert.Contains("up 2 h 5 min", page.Find("[data-testid=detail-reason]").TextContent, StringComparison.Ordinal));

        _time.Advance(TimeSpan.FromMinutes(1));

        page.WaitForAssertion(() => Assert.Contains("up 2 h 6 min", page.Find("[data-testid=detail-reason]").TextContent, StringComparison.Ordinal));
    }

    [Fact]
    public async Task MemoryCap_AboveTheSparksMemory_IsRefusedAsTyped_NamingIt()
    {
        SignInAs("operator");
        SetContainers(ContainerStatus.Running);
        await _health.CheckOnceAsync(CancellationToken.None);
        var page = RenderPage("asr");
        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("[data-testid=limit-input]")));

        await page.InputAsync("[data-testid=limit-input]", "500g");

        page.WaitForAssertion(() => Assert.Contains("Memory cap 500g is more than spark-1 has: 128 GiB of memory", page.Markup, StringComparison.Ordinal));
        Assert.True(page.Find("[data-testid=limit-apply]").HasAttribute("disabled"));
        Assert.Empty(_host.MemoryUpdates);
    }

    [Fact]
    public async Task Timeline_HasALegendOfEveryStatusInItsColour()
    {
        await RunHistoryAsync();

        var page = RenderPage("asr");

        page.WaitForAssertion(() => Assert.NotEmpty(page.FindAll("[data-testid=timeline-legend] [data-status]")));
        var legend = page.FindAll("[data-testid=timeline-legend] [data-status]");
        Assert.Equal(["Healthy", "Loading", "Degraded", "Down", "Unknown"], legend.Select(e => e.GetAttribute("data-status")));
        Assert.Equal(["Healthy", "Loading", "Degraded", "Down", "Unknown (not checked)"], legend.Select(e => e.TextContent.Trim()));
        // Each swatch has the colour its status has in the bar.
        var down = page.FindAll(".sc-timeline-segment").First(s => s.GetAttribute("data-status") == "Down").GetAttribute("style")!;
        Assert.Contains("var(--mud-palette-error)", down, StringComparison.Ordinal);
        Assert.Contains("var(--mud-palette-error)", legend[3].QuerySelector(".sc-timeline-swatch")!.GetAttribute("style"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ModelServer_ShowsServedModelLengthLoadCacheAndTokensPerSecond()
    {
        SetContainers(ContainerStatus.Running);
        await _health.CheckOnceAsync(CancellationToken.None);
        await _models.ReadOnceAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(5));
        SetMetrics(generated: 1900);
        await _models.ReadOnceAsync(CancellationToken.None);

        var page = RenderPage("llm");

        page.WaitForAssertion(() => Assert.Equal("qwen3-8b", page.Find("[data-testid=served-model]").TextContent.Trim()));
        var card = page.Find("[data-testid=model-server]").TextContent;
        Assert.Contains("Qwen/Qwen3-8B", card, StringComparison.Ordinal);
        Assert.Contains("32,768", card, StringComparison.Ordinal);
        Assert.Equal("3 / 2", page.Find("[data-testid=requests]").TextContent.Trim());
        Assert.Contains("41.3 %", card, StringComparison.Ordinal);
        Assert.Contains("180", card, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_AsksFirst_CancelDoesNothing_ConfirmStopsAndAudits()
    {
        SignInAs("operator");
        SetContainers(ContainerStatus.Running);
        await _health.CheckOnceAsync(CancellationToken.None);
        var page = RenderPage("asr");
        page.WaitForAssertion(() => Assert.False(page.Find("[data-testid=action-stop]").HasAttribute("disabled")));

        // The click's handler waits for the dialog's answer: keep its task and answer first.
        var cancelled = await page.StartClickAsync("[data-testid=action-stop]");
        var dialog = _dialogs.WaitForElement("[data-testid=confirm-dialog]", TimeSpan.FromSeconds(5));
        Assert.Contains("Stop the container asr on spark-1", dialog.TextContent, StringComparison.Ordinal);
        await _dialogs.ClickAsync("[data-testid=confirm-cancel]");
        await cancelled.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(_host.Stopped);

        var confirmed = await page.StartClickAsync("[data-testid=action-stop]");
        _dialogs.WaitForElement("[data-testid=confirm-ok]", TimeSpan.FromSeconds(5));
        await _dialogs.ClickAsync("[data-testid=confirm-ok]");
        await confirmed.WaitAsync(TimeSpan.FromSeconds(10));

        page.WaitForAssertion(() => Assert.Equal(["asr"], _host.Stopped));
        var entry = Assert.Single(_audit.Recent(10));
        Assert.Equal(("test-operator", "service.stop", "spark-1/asr", "done"), (entry.Actor, entry.Action, entry.Target, entry.Detail));
    }

    [Fact]
    public async Task AViewer_GetsNoActionsCapsOrLog_AndIsToldWhichRoleTheyTake()
    {
        SignInAs("viewer");
        SetContainers(ContainerStatus.Running);
        await _health.CheckOnceAsync(CancellationToken.None);

        var page = RenderPage("asr");

        page.WaitForAssertion(() => Assert.Equal("Healthy", page.Find("[data-testid=detail-status]").GetAttribute("data-status")));
        Assert.Empty(page.FindAll("[data-testid=action-stop]"));
        Assert.Empty(page.FindAll("[data-testid=limit-input]"));
        Assert.Empty(page.FindAll("[data-testid=log-lines]"));
        var notes = page.FindAll("[data-testid=role-note]").Select(n => n.TextContent).ToList();
        Assert.Contains("Only an operator or an admin can start, stop and restart this service (you are viewer).", notes);
        Assert.Contains(notes, n => n.Contains("set memory caps", StringComparison.Ordinal));
        Assert.Contains(notes, n => n.Contains("read the container's log", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Status_ChangesLive_WithoutReloading()
    {
        SetContainers(ContainerStatus.Running);
        await _health.CheckOnceAsync(CancellationToken.None);
        var page = RenderPage("asr");
        page.WaitForAssertion(() => Assert.Equal("Healthy", page.Find("[data-testid=detail-status]").GetAttribute("data-status")));

        _host.Details["asr"] = _host.Details["asr"] with { Status = ContainerStatus.Exited, ExitCode = 137, OomKilled = true };
        SetContainers(ContainerStatus.Exited);
        _http.Set(9000, "/health", FakeHttpHandler.Behaviour.Refuse);
        await _health.CheckOnceAsync(CancellationToken.None);

        page.WaitForAssertion(() => Assert.Equal("Down", page.Find("[data-testid=detail-status]").GetAttribute("data-status")));
        page.WaitForAssertion(() => Assert.Contains("killed for running out of memory (OOMKilled)", page.Find("[data-testid=container-state]").TextContent, StringComparison.Ordinal));
        Assert.True(page.Find("[data-testid=action-stop]").HasAttribute("disabled"));
        Assert.False(page.Find("[data-testid=action-start]").HasAttribute("disabled"));
    }

    [Fact]
    public async Task Log_IsFollowedRedacted_FilteredAndPaused()
    {
        SetContainers(ContainerStatus.Running);
        await _health.CheckOnceAsync(CancellationToken.None);
        var page = RenderPage("asr");
        var lines = () => page.Find("[data-testid=log-lines]").TextContent;

        await _host.FollowedLog.Writer.WriteAsync("INFO: loading nvidia/parakeet-tdt-0.6b-v2");
        await _host.FollowedLog.Writer.WriteAsync("ERROR: download failed for https://user:hunter2pass@mirror.example/model");
        page.WaitForAssertion(() => Assert.Contains("[REDACTED]", lines(), StringComparison.Ordinal));
        Assert.DoesNotContain("hunter2pass", lines(), StringComparison.Ordinal);
        Assert.Equal("following", page.Find("[data-testid=log-state]").TextContent.Trim());

        // Found and fired on the renderer's thread: the live log re-renders the page, retiring handlers found before.
        await page.InvokeAsync(() => page.Find("[data-testid=log-filter]").Input("error"));
        page.WaitForAssertion(() => Assert.DoesNotContain("loading", lines(), StringComparison.Ordinal));
        Assert.Contains("ERROR: download failed", lines(), StringComparison.Ordinal);
        await page.InvokeAsync(() => page.Find("[data-testid=log-filter]").Input(string.Empty));

        await page.InvokeAsync(() => page.Find("[data-testid=log-pause]").ClickAsync(new()));
        await _host.FollowedLog.Writer.WriteAsync("INFO: held while paused");
        page.WaitForAssertion(() => Assert.Equal("paused", page.Find("[data-testid=log-state]").TextContent.Trim()));
        Assert.DoesNotContain("held while paused", lines(), StringComparison.Ordinal);
        await page.InvokeAsync(() => page.Find("[data-testid=log-pause]").ClickAsync(new()));
        page.WaitForAssertion(() => Assert.Contains("held while paused", lines(), StringComparison.Ordinal));

        _host.FollowedLog.Writer.Complete();
        page.WaitForAssertion(() => Assert.Equal("ended", page.Find("[data-testid=log-state]").TextContent.Trim()));
    }

    [Fact]
    public async Task Log_PausedWhileTheContainerTalks_KeepsOnlyWhatItCanShow()
    {
        SetContainers(ContainerStatus.Running);
        await _health.CheckOnceAsync(CancellationToken.None);
        var page = RenderPage("asr");
        var lines = () => page.Find("[data-testid=log-lines]").TextContent;
        await page.InvokeAsync(() => page.Find("[data-testid=log-pause]").ClickAsync(new()));
        page.WaitForAssertion(() => Assert.Equal("paused", page.Find("[data-testid=log-state]").TextContent.Trim()));

        // A chatty container while the operator reads: the paused view must not hold all of it.
        const int arrived = LogView.MaxLines + 500;
        for (var i = 0; i < arrived; i++)
        {
            await _host.FollowedLog.Writer.WriteAsync($"line {i:D5}");
        }

        page.WaitForAssertion(() => Assert.Equal(
            $"{arrived:N0} new lines since pausing; Resume shows the last {LogView.MaxLines - 1:N0} (Download has the rest).",
            page.Find("[data-testid=log-held]").TextContent.Trim()), TimeSpan.FromSeconds(120));
        await page.InvokeAsync(() => page.Find("[data-testid=log-pause]").ClickAsync(new()));

        page.WaitForAssertion(() => Assert.Contains("line 02499", lines(), StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        var shown = lines().Split('\n');
        Assert.Equal(LogView.MaxLines, shown.Length);
        Assert.Contains("501 earlier lines arrived while paused", shown[0], StringComparison.Ordinal);
        Assert.Equal("line 00501", shown[1]);
        Assert.Empty(page.FindAll("[data-testid=log-held]"));
    }

    [Fact]
    public async Task UrlOnlyOpenWebUi_HasNoContainerActions_AndLinksOutToItsUi()
    {
        SetContainers(ContainerStatus.Running);
        await _health.CheckOnceAsync(CancellationToken.None);

        var page = RenderPage("webui");

        page.WaitForAssertion(() => Assert.Equal("Healthy", page.Find("[data-testid=detail-status]").GetAttribute("data-status")));
        page.WaitForAssertion(() => Assert.Contains("probed at its URL", page.Find("[data-testid=container-facts]").TextContent, StringComparison.Ordinal));
        Assert.Empty(page.FindAll("[data-testid=action-stop]"));
        Assert.Empty(page.FindAll("[data-testid=log-lines]"));
        Assert.Equal("http://spark-1.test:8080/", page.Find("[data-testid=service-link]").GetAttribute("href"));
    }

    [Fact]
    public async Task UnknownService_SaysSo()
    {
        SetContainers(ContainerStatus.Running);
        await _health.CheckOnceAsync(CancellationToken.None);

        var page = RenderPage("nope");

        page.WaitForAssertion(() => Assert.Contains("No service 'nope' is known on spark-1.", page.Markup, StringComparison.Ordinal));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        _meters.Dispose();
        _data.Dispose();
    }
}
