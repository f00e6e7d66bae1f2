using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using MudBlazor;
using SparkControl.Core.Audit;
using SparkControl.Core.Catalog;
using SparkControl.Core.Disk;
using SparkControl.Core.Hosts;
using SparkControl.Core.Sparks;
using SparkControl.Sim.Hosting;
using SparkControl.Tests.Infrastructure;
using SparkControl.Tests.Swaps;
using SparkControl.Web.Components.Controls;

namespace SparkControl.Tests.Components;

/// <summary>The Host page's weights panel with the real cleanup service over a simulated Spark's disk.</summary>
public sealed class WeightsCleanupPanelTests : UiTestContext
{
    private const string Hub = "/home/demo/.cache/huggingface/hub";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 7, 0, 0, TimeSpan.Zero));
    private readonly TempDirectory _data = new();
    private readonly SimulatedSparkHost _host;
    private readonly GatedSparkHost _gated;
    private readonly AuditLog _audit;
    private IRenderedComponent<MudDialogProvider> _dialogs = null!;

    public WeightsCleanupPanelTests()
    {
        _host = new SimulatedSparkHost(new SimSparkSettings { Name = "spark-1" }, _time);
        _host.Disk.AddDirectory($"{Hub}/models--Qwen--Qwen3-8B", 16L << 30, "config.json");
        _host.Disk.AddDirectory($"{Hub}/models--gpt2", 500L << 20, "config.json");
        _host.Disk.AddDirectory($"{Hub}/models--org--old", 2L << 30, "config.json");
        _gated = new GatedSparkHost(_host);
        var fleet = new SparkFleet(_time);
        fleet.Publish(new FleetConfiguration([new SparkEntry(new SparkDefinition { Name = "spark-1", Host = "spark-1.test", User = "demo" }, _gated, true)], [], false));
        var catalog = new ModelCatalog(_time);
        catalog.Publish(new CatalogSnapshot([new ModelDefinition { Id = "qwen3-8b", DisplayName = "Qwen3 8B", Source = new HuggingFaceSource("Qwen/Qwen3-8B"), ServedName = "qwen3-8b" }], []));
        _audit = new AuditLog(TestStores.Open(_data.Path), _time);
        Services.AddSingleton(new WeightsCleanup(fleet, catalog, _audit, NullLogger<WeightsCleanup>.Instance));
    }

    private IRenderedComponent<WeightsCleanupPanel> RenderPanel()
    {
        RenderPopoverProvider();
        _dialogs = Render<MudDialogProvider>();
        var panel = Render<WeightsCleanupPanel>(p => p.Add(c => c.Spark, "spark-1"));
        panel.WaitForElement("[data-testid=weights-table]");
        return panel;
    }

    private static string Row(string folder) => $"tr[data-folder='{folder}']";

    [Fact]
    public void Panel_ListsEveryFolder_OffersOnlyUnreferencedOnes_WithTheReclaimableTotal()
    {
        var panel = RenderPanel();

        Assert.Equal(3, panel.FindAll("[data-testid=weights-row]").Count);
        Assert.Equal("false", panel.Find(Row("models--Qwen--Qwen3-8B")).GetAttribute("data-deletable"));
        Assert.Empty(panel.Find(Row("models--Qwen--Qwen3-8B")).QuerySelectorAll("input[type=checkbox]"));
        Assert.Contains("catalog: qwen3-8b", panel.Find(Row("models--Qwen--Qwen3-8B")).TextContent, StringComparison.Ordinal);
        Assert.NotNull(panel.Find(Row("models--gpt2")).QuerySelector("input[type=checkbox]"));
        Assert.Contains("in 2 unreferenced folders", panel.Find("[data-testid=weights-reclaimable]").TextContent, StringComparison.Ordinal);
        Assert.True(panel.Find("[data-testid=weights-delete]").HasAttribute("disabled"));
    }

    [Fact]
    public async Task Delete_AsksWithTheFoldersAndTotal_CancelKeeps_ConfirmDeletesAndShowsTheResult()
    {
        var panel = RenderPanel();
        await panel.ChangeAsync($"{Row("models--gpt2")} input[type=checkbox]", true);
        await panel.ChangeAsync($"{Row("models--org--old")} input[type=checkbox]", true);

        var asking = await panel.StartClickAsync("[data-testid=weights-delete]");
        var list = _dialogs.WaitForElement("[data-testid=weights-confirm-list]");
        Assert.Contains("models--gpt2", list.TextContent, StringComparison.Ordinal);
        Assert.Contains("models--org--old", list.TextContent, StringComparison.Ordinal);
        Assert.Contains("2 folders", _dialogs.Find("[data-testid=weights-confirm-total]").TextContent, StringComparison.Ordinal);
        await _dialogs.ClickAsync("[data-testid=weights-confirm-cancel]");
        await asking;
        _dialogs.WaitForAssertion(() => Assert.Empty(_dialogs.FindAll("[data-testid=weights-confirm-dialog]")));
        Assert.True(_host.Disk.Exists($"{Hub}/models--gpt2"));

        var deleting = await panel.StartClickAsync("[data-testid=weights-delete]");
        _dialogs.WaitForElement("[data-testid=weights-confirm-ok]");
        await _dialogs.ClickAsync("[data-testid=weights-confirm-ok]");
        await deleting;

        panel.WaitForAssertion(() => Assert.Equal(["deleted", "deleted"], panel.FindAll("[data-testid=weights-result-row]").Select(r => r.GetAttribute("data-outcome"))));
        panel.WaitForAssertion(() => Assert.Single(panel.FindAll("[data-testid=weights-row]")));
        Assert.False(_host.Disk.Exists($"{Hub}/models--gpt2"));
        Assert.False(_host.Disk.Exists($"{Hub}/models--org--old"));
        Assert.True(_host.Disk.Exists($"{Hub}/models--Qwen--Qwen3-8B"));
        Assert.Equal(2, _audit.Recent(10).Count(e => e.Action == WeightsCleanup.AuditAction && e.Actor == "test-admin"));
    }

    [Fact]
    public async Task Delete_WhileAFolderIsGoing_ShowsWhichAndHoldsTheControls()
    {
        var panel = RenderPanel();
        await panel.ChangeAsync($"{Row("models--gpt2")} input[type=checkbox]", true);
        _gated.Close(nameof(ISparkHost.RemoveHfCacheFolderAsync));

        var deleting = await panel.StartClickAsync("[data-testid=weights-delete]");
        _dialogs.WaitForElement("[data-testid=weights-confirm-ok]");
        await _dialogs.ClickAsync("[data-testid=weights-confirm-ok]");
        await _gated.Reached(nameof(ISparkHost.RemoveHfCacheFolderAsync)).WaitAsync(TimeSpan.FromSeconds(15));

        panel.WaitForAssertion(() => Assert.Contains("Deleting models--gpt2 (1 of 1", panel.Find("[data-testid=weights-progress]").TextContent, StringComparison.Ordinal));
        Assert.True(panel.Find("[data-testid=weights-delete]").HasAttribute("disabled"));
        _gated.Open(nameof(ISparkHost.RemoveHfCacheFolderAsync));
        await deleting;
        panel.WaitForAssertion(() => Assert.Empty(panel.FindAll("[data-testid=weights-progress]")));
        Assert.Equal("deleted", panel.Find("[data-testid=weights-result-row]").GetAttribute("data-outcome"));
    }

    [Fact]
    public void Viewer_SeesTheFolders_ButNoCheckboxesOrDeleteButton()
    {
        SignInAs("viewer");

        var panel = RenderPanel();

        Assert.Equal(3, panel.FindAll("[data-testid=weights-row]").Count);
        Assert.Empty(panel.FindAll("input[type=checkbox]"));
        Assert.Empty(panel.FindAll("[data-testid=weights-delete]"));
        Assert.Contains("delete model weights", panel.Find("[data-testid=role-note]").TextContent, StringComparison.Ordinal);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _data.Dispose();
        }

        base.Dispose(disposing);
    }
}
