using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using MudBlazor;
using SparkControl.Core.Catalog;
using SparkControl.Core.Operations;
using SparkControl.Core.Secrets;
using SparkControl.Core.Services;
using SparkControl.Core.Storage;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;

namespace SparkControl.Tests.Components;

/// <summary>
/// The Settings page's alerts panel with the real webhooks, secrets and delivery (to a receiver on loopback), and the
/// idle unload shown on a Spark's card.
/// </summary>
public sealed class OperationsUiTests : UiTestContext
{
    private readonly TempDirectory _data = new();
    private readonly SecretStore _secrets;
    private readonly AlertSettingsStore _store;
    private WebhookReceiver _receiver = null!;
    private IRenderedComponent<MudDialogProvider> _dialogs = null!;

    public OperationsUiTests()
    {
        var data = new DataDirectory(_data.Path);
        _secrets = new SecretStore(data, TimeProvider.System);
        _store = new AlertSettingsStore(data, TimeProvider.System);
        var delivery = new AlertDelivery(_secrets, new SparkControl.Tests.Core.StaticOptionsMonitor<OperationsOptions>(new OperationsOptions { AlertRetryDelay = TimeSpan.FromMilliseconds(20) }), () => new HttpClient(), TimeProvider.System, NullLogger<AlertDelivery>.Instance);
        Services.AddSingleton(_secrets).AddSingleton(_store).AddSingleton(delivery).AddSingleton(new AlertWebhooks(_store, _secrets, delivery, TimeProvider.System));
    }

    private async Task<IRenderedComponent<AlertsPanel>> RenderPanelAsync()
    {
        _receiver = await WebhookReceiver.StartAsync();
        RenderPopoverProvider();
        _dialogs = Render<MudDialogProvider>();
        return Render<AlertsPanel>();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _receiver?.DisposeAsync().AsTask().GetAwaiter().GetResult();
            _data.Dispose();
        }

        base.Dispose(disposing);
    }

    [Fact]
    public async Task AddingAWebhook_KeepsItsAddressSecret_ShowsOnlyItsHost_AndTestReachesIt()
    {
        var panel = await RenderPanelAsync();
        Assert.NotNull(panel.Find("[data-testid=alerts-empty]"));

        await panel.ClickAsync("[data-testid=add-alert]");
        var dialog = _dialogs.WaitForElement("[data-testid=alert-dialog]");
        await _dialogs.ChangeAsync("input[data-testid=alert-name]", "phone");
        await _dialogs.ChangeAsync("input[data-testid=alert-url]", _receiver.Url("/hook/s3cr3t-topic"));
        await _dialogs.ChangeAsync("input[data-testid=alert-kind-memory]", false);
        await _dialogs.ClickAsync("[data-testid=alert-save]");
        panel.WaitForElement("[data-testid=alert-phone]");
        await panel.ClickAsync("[data-testid=alert-test]");
        panel.WaitForAssertion(() => Assert.Contains("answered 200", panel.Find("[data-testid=alert-last]").TextContent, StringComparison.Ordinal));

        Assert.NotNull(dialog);
        Assert.DoesNotContain("s3cr3t", panel.Markup, StringComparison.Ordinal);
        Assert.Contains($"http://127.0.0.1:{_receiver.Port}", panel.Find("[data-testid=alert-phone]").TextContent, StringComparison.Ordinal);
        Assert.Equal([AlertKind.ServiceDown, AlertKind.SwapFailed, AlertKind.Disk], _store.Find("phone")!.Kinds);
        Assert.Equal("/hook/s3cr3t-topic", Assert.Single(_receiver.Requests).Path);
    }

    [Fact]
    public async Task ABadAddress_IsShownInTheDialog_WithoutRepeatingIt_AndNothingIsSaved()
    {
        var panel = await RenderPanelAsync();
        await panel.ClickAsync("[data-testid=add-alert]");
        _dialogs.WaitForElement("[data-testid=alert-dialog]");
        await _dialogs.ChangeAsync("input[data-testid=alert-name]", "phone");
        await _dialogs.ChangeAsync("input[data-testid=alert-url]", "ftp://example.test/s3cr3t");
        await _dialogs.ClickAsync("[data-testid=alert-save]");

        var error = _dialogs.WaitForElement("[data-testid=alert-dialog-error]");
        Assert.Contains("http:// or https://", error.TextContent, StringComparison.Ordinal);
        // The address stays in its (password) field for the operator to correct; no message repeats it.
        Assert.DoesNotContain("s3cr3t", error.TextContent, StringComparison.Ordinal);
        Assert.Empty(_store.Current.Targets);
        Assert.Null(_secrets.Reveal(AlertTarget.SecretName("phone")));
    }

    [Theory]
    [InlineData("alert-disk", "abc", "diskPercent must be a whole number, not 'abc'")]
    [InlineData("alert-disk", "40", "diskPercent must be a whole percent between 50 and 100, not 40")]
    [InlineData("alert-memory", "101", "memoryPercent must be a whole percent between 50 and 100, not 101")]
    [InlineData("alert-memory", "97.5", "memoryPercent must be a whole number, not '97.5'")]
    [InlineData("alert-memory", "", "memoryPercent is required: a whole percent between 50 and 100")]
    public async Task APercentItCannotSave_MarksTheFieldKeepsSaveDisabledAndSavesNothing(string field, string typed, string reason)
    {
        var panel = await RenderPanelAsync();
        await panel.ClickAsync("[data-testid=add-alert]");
        _dialogs.WaitForElement("[data-testid=alert-dialog]");
        await _dialogs.ChangeAsync("input[data-testid=alert-name]", "phone");
        await _dialogs.ChangeAsync("input[data-testid=alert-url]", "http://127.0.0.1:9/hook");

        await _dialogs.ChangeAsync($"input[data-testid={field}]", typed);

        _dialogs.WaitForAssertion(() => Assert.True(_dialogs.Find("[data-testid=alert-save]").HasAttribute("disabled")));
        var control = _dialogs.Find($"input[data-testid={field}]").Closest(".mud-input-control")!;
        Assert.True(control.TextContent.Contains(reason, StringComparison.Ordinal), control.OuterHtml);
        await _dialogs.Find("[data-testid=alert-save]").ClickAsync(new());
        Assert.Empty(_store.Current.Targets);
    }

    [Fact]
    public async Task Remove_AsksFirst_CancelKeeps_ConfirmRemovesTheSecretToo()
    {
        await _secrets.SetAsync(AlertTarget.SecretName("pager"), "http://127.0.0.1:9/hook", CancellationToken.None);
        await _store.AddAsync(new AlertTarget { Name = "pager" }, CancellationToken.None);
        var panel = await RenderPanelAsync();

        var cancelled = await panel.StartClickAsync("[data-testid=alert-remove]");
        await _dialogs.ClickAsync("[data-testid=confirm-cancel]");
        await cancelled;
        Assert.NotNull(_store.Find("pager"));
        var confirmed = await panel.StartClickAsync("[data-testid=alert-remove]");
        await _dialogs.ClickAsync("[data-testid=confirm-ok]");
        await confirmed;

        Assert.Null(_store.Find("pager"));
        Assert.Null(_secrets.Reveal(AlertTarget.SecretName("pager")));
        panel.WaitForElement("[data-testid=alerts-empty]");
    }

    [Fact]
    public async Task TheIdleDialog_SetsAModelsIdleTime_AndTurnsItOff()
    {
        var store = new CatalogStore(new DataDirectory(_data.Path), new ModelCatalog(TimeProvider.System));
        store.SetSources([new ModelDefinition { Id = "qwen3-8b", DisplayName = "Qwen3 8B", Source = new HuggingFaceSource("Qwen/Qwen3-8B"), ServedName = "qwen3-8b" }], [], []);
        Services.AddSingleton(store);
        RenderPopoverProvider();
        _dialogs = Render<MudDialogProvider>();
        var service = Services.GetRequiredService<IDialogService>();

        async Task EditAsync(Func<Task> change)
        {
            var parameters = new DialogParameters<SparkControl.Web.Components.Dialogs.IdleDialog> { { d => d.Model, store.Current.Find("qwen3-8b")! } };
            var reference = await _dialogs.InvokeAsync(() => service.ShowAsync<SparkControl.Web.Components.Dialogs.IdleDialog>("Idle", parameters));
            _dialogs.WaitForElement("[data-testid=idle-dialog]");
            await change();
            await _dialogs.ClickAsync("[data-testid=idle-save]");
            Assert.False((await reference.Result)!.Canceled);
        }

        await EditAsync(async () =>
        {
            await _dialogs.ChangeAsync("input[data-testid=idle-enabled]", true);
            await _dialogs.ChangeAsync("input[data-testid=idle-minutes]", "45");
        });
        var set = store.Current.Find("qwen3-8b")!.IdleUnloadAfter;
        await EditAsync(() => _dialogs.ChangeAsync("input[data-testid=idle-enabled]", false));

        Assert.Equal(TimeSpan.FromMinutes(45), set);
        Assert.Null(store.Current.Find("qwen3-8b")!.IdleUnloadAfter);
    }

    [Theory]
    [InlineData("abc", "minutes must be a whole number, not 'abc'")]
    [InlineData("0", "minutes must be a whole number from 1 to 43200")]
    [InlineData("99999", "minutes must be a whole number from 1 to 43200")]
    [InlineData("1.5", "minutes must be a whole number, not '1.5'")]
    public async Task TheIdleDialog_MinutesItCannotSave_MarkTheFieldAndKeepSaveDisabled(string typed, string reason)
    {
        var store = new CatalogStore(new DataDirectory(_data.Path), new ModelCatalog(TimeProvider.System));
        store.SetSources([new ModelDefinition { Id = "qwen3-8b", DisplayName = "Qwen3 8B", Source = new HuggingFaceSource("Qwen/Qwen3-8B"), ServedName = "qwen3-8b" }], [], []);
        Services.AddSingleton(store);
        RenderPopoverProvider();
        _dialogs = Render<MudDialogProvider>();
        var parameters = new DialogParameters<SparkControl.Web.Components.Dialogs.IdleDialog> { { d => d.Model, store.Current.Find("qwen3-8b")! } };
        await _dialogs.InvokeAsync(() => Services.GetRequiredService<IDialogService>().ShowAsync<SparkControl.Web.Components.Dialogs.IdleDialog>("Idle", parameters));
        _dialogs.WaitForElement("[data-testid=idle-dialog]");

        await _dialogs.ChangeAsync("input[data-testid=idle-enabled]", true);
        await _dialogs.ChangeAsync("input[data-testid=idle-minutes]", typed);

        _dialogs.WaitForAssertion(() => Assert.True(_dialogs.Find("[data-testid=idle-save]").HasAttribute("disabled")));
        Assert.Contains(reason, _dialogs.Find("input[data-testid=idle-minutes]").Closest(".mud-input-control")!.TextContent, StringComparison.Ordinal);
        await _dialogs.Find("[data-testid=idle-save]").ClickAsync(new());
        Assert.Null(store.Current.Find("qwen3-8b")!.IdleUnloadAfter);
    }

    [Theory]
    [InlineData(0, "Unloads after 30 min unused · unused for 12 min 5 s")]
    [InlineData(2, "Unloads after 30 min unused · in use now")]
    public void ASparkCard_SaysWhenItsModelIsUnloaded(int inFlight, string expected)
    {
        var spark = new SparkHealth { Spark = "spark-1", Reachability = Reachability.Reachable, Model = new LoadedModel("qwen3-8b", "qwen3-8b", "vllm", 8000, HealthStatus.Healthy), ModelChecked = true };

        var card = Render<SparkCard>(p => p.Add(c => c.Value, spark).Add(c => c.Idle, new IdleState("spark-1", "qwen3-8b", TimeSpan.FromMinutes(30), TimeSpan.FromSeconds(725), inFlight)));
        var without = Render<SparkCard>(p => p.Add(c => c.Value, spark));

        Assert.Equal(expected, card.Find("[data-testid=idle-unload]").TextContent);
        Assert.Empty(without.FindAll("[data-testid=idle-unload]"));
    }

    [Theory]
    [InlineData(1, "1 s")]
    [InlineData(90, "90 s")]
    [InlineData(150, "2 min 30 s")]
    [InlineData(2700, "45 min")]
    [InlineData(7200, "2 h")]
    [InlineData(5400 + 3600, "2 h 30 min")]
    [InlineData(2_592_000, "720 h")]
    public void IdleTimes_ReadAsTheyWereSet(int seconds, string expected) =>
        Assert.Equal(expected, SparkCard.FormatIdle(TimeSpan.FromSeconds(seconds)));
}
