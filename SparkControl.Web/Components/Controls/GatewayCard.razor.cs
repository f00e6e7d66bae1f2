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
}
