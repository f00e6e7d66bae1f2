using Bunit;
using SparkControl.Core.Services;
using SparkControl.Tests.Infrastructure;
using SparkControl.Web.Components.Controls;

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
        Assert.Equal("Healthy", card.Find("[data-testid=service-parakeet-asr] [data-testid=service-status]").GetAttribute("data-status"));
        Assert.Contains("container running, port not open yet", card.Find("[data-testid=service-sparkcontrol-llm]").TextContent, StringComparison.Ordinal);
        Assert.Contains("simulated", card.Markup, StringComparison.Ordinal);
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
