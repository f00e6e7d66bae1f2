using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MudBlazor;
using SparkControl.Core.Audit;
using SparkControl.Core.Hosts;
using SparkControl.Core.Maintenance;
using SparkControl.Core.Sparks;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Dialogs;

namespace SparkControl.Tests.Components;

/// <summary>The full-upgrade dialog: the preview first, removals set apart, and Run only once the preview is in.</summary>
public sealed class FullUpgradeDialogTests : UiTestContext
{
    private readonly TempDirectory _data = new();
    private readonly FakeSparkHost _host = new("spark-1");

    public FullUpgradeDialogTests()
    {
        var time = new FakeTimeProvider();
        var fleet = new SparkFleet(time);
        fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "h", User = "nvidia" }, _host, false)], [], false));
        Services.AddSingleton(new HostUpdatesReader(fleet, new AuditLog(TestStores.Open(_data.Path), time)));
    }

    private (IRenderedComponent<MudDialogProvider> Provider, Task<int?> Answer) Open()
    {
        RenderPopoverProvider();
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        var answer = provider.InvokeAsync(() => FullUpgradeDialog.AskAsync(dialogs, "spark-1"));
        return (provider, answer);
    }

    [Fact]
    public async Task Preview_WithRemovals_ShowsThemApart_AndRunAnswersTheirCount()
    {
        _host.HostCheckOutputs[HostCheck.AptFullUpgradeSimulation] = new(0, "Remv libstdc++6-legacy [1.0]\nRemv python3.12-venv [3.12.3]\nInst libc6 [2.39-1] (2.39-2 x [arm64])\n", string.Empty);
        var (dialog, answer) = Open();

        dialog.WaitForAssertion(() => Assert.Equal(["libstdc++6-legacy (1.0)", "python3.12-venv (3.12.3)"], dialog.FindAll("[data-testid=full-upgrade-removal]").Select(e => e.TextContent.Trim())));
        Assert.Contains("2 packages will be REMOVED", dialog.Find("[data-testid=full-upgrade-removals]").TextContent, StringComparison.Ordinal);
        Assert.Contains("mud-alert-text-error", dialog.Find("[data-testid=full-upgrade-removals]").ClassName, StringComparison.Ordinal);
        Assert.Contains("1 package installed or upgraded", dialog.Find("[data-testid=full-upgrade-count]").TextContent, StringComparison.Ordinal);
        Assert.Contains("removing 2", dialog.Find("[data-testid=full-upgrade-run]").TextContent, StringComparison.Ordinal);
        await dialog.Find("[data-testid=full-upgrade-run]").ClickAsync(new());

        Assert.Equal(2, await answer.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task Preview_WithoutRemovals_SaysSo_AndRunAnswersZero()
    {
        _host.HostCheckOutputs[HostCheck.AptFullUpgradeSimulation] = new(0, "Inst libc6 [2.39-1] (2.39-2 x [arm64])\n", string.Empty);
        var (dialog, answer) = Open();

        dialog.WaitForAssertion(() => Assert.NotNull(dialog.Find("[data-testid=full-upgrade-no-removals]")));
        Assert.Empty(dialog.FindAll("[data-testid=full-upgrade-removals]"));
        await dialog.Find("[data-testid=full-upgrade-run]").ClickAsync(new());

        Assert.Equal(0, await answer.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task Preview_Fails_ShowsWhy_RunStaysDisabled_AndCancelAnswersNothing()
    {
        _host.HostCheckOutputs[HostCheck.AptFullUpgradeSimulation] = new(100, string.Empty, "E: Could not get lock /var/lib/dpkg/lock-frontend\n");
        var (dialog, answer) = Open();

        dialog.WaitForAssertion(() => Assert.Contains("Could not get lock", dialog.Find("[data-testid=full-upgrade-error]").TextContent, StringComparison.Ordinal));
        Assert.True(dialog.Find("[data-testid=full-upgrade-run]").HasAttribute("disabled"));
        await dialog.Find("[data-testid=full-upgrade-cancel]").ClickAsync(new());

        Assert.Null(await answer.WaitAsync(TimeSpan.FromSeconds(15)));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _data.Dispose();
        }
    }
}
