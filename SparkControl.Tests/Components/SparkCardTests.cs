using Bunit;
using SparkControl.Core.Services;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;
using SparkControl.Core.Sparks;

namespace SparkControl.Tests.Components;

public sealed class SparkCardTests : UiTestContext
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);

    private static ServiceHealth Service(string name, HealthStatus status, string reason, ServiceKind kind = ServiceKind.ParakeetAsr) =>
        new() { Spark = "demo", Name = name, Kind = kind, Status = status, Reason = reason, Since = Now, CheckedAt = Now, Container = name };

    [Fact]
    public void Render_LoadedModelAndServices_ShowsEachWithItsStatus()
    {
        var spark = new SparkHealth
        {
            Spark = "demo",
            IsSimulated = true,
            Reachability = Reachability.Reachable,
            CheckedAt = Now,
            Model = new LoadedModel("qwen3-8b", "qwen3-8b", "sparkcontrol-llm", 8000, HealthStatus.Loading),
            Services = [Service("sparkcontrol-llm", HealthStatus.Loading, "container running, port not open yet", ServiceKind.VllmLlm), Service("parakeet-asr", HealthStatus.Healthy, "answering")],
        };

        var card = Render<SparkCard>(p => p.Add(c => c.Value, spark));

        Assert.Equal("demo", card.Find("[data-testid=spark-name]").TextContent.Trim());
        Assert.Equal("qwen3-8b", card.Find("[data-testid=loaded-model-name]").TextContent.Trim());
        Assert.Equal("Loading", card.Find("[data-testid=loaded-model-status]").GetAttribute("data-status"));
        Assert.Equal("1 healthy, 1 loading", card.Find("[data-testid=service-summary]").TextContent.Trim());
        Assert.Contains("simulated", card.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public void ServiceCard_ShowsStatusReasonAndLinksToItsDetailPage()
    {
        var card = Render<ServiceCard>(p => p.Add(c => c.Value, Service("parakeet-asr", HealthStatus.Down, "container exited (137), killed for running out of memory")));

        Assert.Equal("Down", card.Find("[data-testid=service-status]").GetAttribute("data-status"));
        Assert.Equal("container exited (137), killed for running out of memory", card.Find("[data-testid=service-reason]").TextContent.Trim());
        Assert.Equal("services/demo/parakeet-asr", card.Find("[data-testid=service-link]").GetAttribute("href"));
        Assert.Empty(card.FindAll("[data-testid=service-out-link]"));
    }

    [Fact]
    public void ServiceCard_OpenWebUi_LinksOutToItsUi()
    {
        var webui = Service("open-webui", HealthStatus.Healthy, "answering", ServiceKind.OpenWebUi) with { Endpoint = new Uri("http://spark-01:8080/") };

        var card = Render<ServiceCard>(p => p.Add(c => c.Value, webui));

        var link = card.Find("[data-testid=service-out-link]");
        Assert.Equal("http://spark-01:8080/", link.GetAttribute("href"));
        Assert.Equal("_blank", link.GetAttribute("target"));
        Assert.Contains("Open WebUI", link.TextContent, StringComparison.Ordinal);
    }

    [Fact]
    public void ServiceCard_ConfiguredLinks_AreShownInsteadOfTheDefault()
    {
        var webui = Service("open-webui", HealthStatus.Healthy, "answering", ServiceKind.OpenWebUi) with { Endpoint = new Uri("http://spark-01:8080/") };

        var card = Render<ServiceCard>(p => p.Add(c => c.Value, webui).Add(c => c.Links, [new ServiceLink("Chat", "https://chat.lan/")]));

        var link = Assert.Single(card.FindAll("[data-testid=service-out-link]"));
        Assert.Equal("https://chat.lan/", link.GetAttribute("href"));
    }

    [Fact]
    public void Render_Unreachable_SaysWhyAndNoModel()
    {
        var spark = new SparkHealth { Spark = "spark-2", Reachability = Reachability.Unreachable, Error = "connection timed out", CheckedAt = Now };

        var card = Render<SparkCard>(p => p.Add(c => c.Value, spark));

        Assert.Equal("unreachable: connection timed out", card.Find("[data-testid=spark-reachability]").TextContent.Trim());
        Assert.NotNull(card.Find("[data-testid=loaded-model-none]"));
    }

    [Theory]
    [InlineData(HealthStatus.Healthy, "mud-chip-color-success")]
    [InlineData(HealthStatus.Loading, "mud-chip-color-info")]
    [InlineData(HealthStatus.Degraded, "mud-chip-color-warning")]
    [InlineData(HealthStatus.Down, "mud-chip-color-error")]
    public void StatusChip_Status_HasItsColour(HealthStatus status, string cssClass)
    {
        var chip = Render<StatusChip>(p => p.Add(c => c.Status, status).Add(c => c.TestId, "chip"));

        var element = chip.Find("[data-testid=chip]");
        Assert.Contains(cssClass, element.ClassName, StringComparison.Ordinal);
        Assert.Equal(status.ToString(), element.TextContent.Trim());
    }
}
