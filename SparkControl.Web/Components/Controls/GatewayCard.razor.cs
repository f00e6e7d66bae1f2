using Microsoft.AspNetCore.Components;
using SparkControl.Core.Gateway;
using SparkControl.Core.Swaps;
using SparkControl.Web;

namespace SparkControl.Web.Components.Controls;

public partial class GatewayCard
{
    /// <summary>The gateway's base URL as the browser reached the panel (clients on the LAN use the same host).</summary>
    [Parameter, EditorRequired]
    public required string BaseUrl { get; set; }

    /// <summary>The servers requests are routed to now.</summary>
    [Parameter]
    public IReadOnlyList<GatewayTarget> Targets { get; set; } = [];

    /// <summary>Names a running swap is bringing up: requests for them wait in the queue.</summary>
    [Parameter]
    public IReadOnlyList<(string Name, SwapStatus Swap)> Waiting { get; set; } = [];

    [Parameter]
    public GatewayTraffic Traffic { get; set; } = GatewayTraffic.Empty;

    /// <summary>The audio names a healthy worker answers to now, with the name the worker serves them under.</summary>
    [Parameter]
    public IReadOnlyList<(string Name, string Upstream, string Route)> Audio { get; set; } = [];

    private readonly RenderedFrom<(string, IReadOnlyList<GatewayTarget>, IReadOnlyList<(string, SwapStatus)>, GatewayTraffic, IReadOnlyList<(string, string, string)>)> _shown = new();

    /// <summary>The lists are compared as the same instances: the dashboard keeps a list whose content did not change.</summary>
    protected override bool ShouldRender() => _shown.Changed(Shown);

    protected override void OnInitialized() => _shown.Changed(Shown);

    private (string, IReadOnlyList<GatewayTarget>, IReadOnlyList<(string, SwapStatus)>, GatewayTraffic, IReadOnlyList<(string, string, string)>) Shown =>
        (BaseUrl, Targets, Waiting, Traffic, Audio);

    /// <summary>Whether two targets route the same names to the same server: what the card shows of one.</summary>
    public static IEqualityComparer<GatewayTarget> SameTarget { get; } = EqualityComparer<GatewayTarget>.Create(
        (a, b) => ReferenceEquals(a, b) || (a is not null && b is not null && a.Spark == b.Spark && a.Service == b.Service && a.ModelId == b.ModelId
            && a.Endpoint == b.Endpoint && a.Served.SequenceEqual(b.Served) && a.Aliases.SequenceEqual(b.Aliases)),
        t => HashCode.Combine(t.Spark, t.Service, t.ModelId));
}
