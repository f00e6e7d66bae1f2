using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using SparkControl.Core.Gateway;
using SparkControl.Core.Sparks;

namespace SparkControl.Web.Security;

/// <summary>
/// Whether the panel asks who is there. Open (every caller acts as admin) only in the demo on loopback, with no real
/// Spark configured, or with the trusted lab's <c>Security:AllowAnonymous</c>; otherwise sign-in or a key is required.
/// </summary>
public sealed class AccessMode(IServer server, SparkFleet fleet, IOptionsMonitor<SecurityOptions> security, IOptionsMonitor<GatewayOptions> gateway)
{
    private bool? _beyondLoopback;

    /// <summary>True once the panel listens on anything but loopback (read from the server's own addresses).</summary>
    public bool ListensBeyondLoopback => _beyondLoopback ??= server.Features.Get<IServerAddressesFeature>()?.Addresses is { Count: > 0 } addresses
        && addresses.Any(a => !IsLoopbackUrl(a));

    public bool HasRealSpark => fleet.Current.Sparks.Any(s => !s.IsSimulated);

    public bool SignInRequired => !security.CurrentValue.AllowAnonymous && (security.CurrentValue.RequireSignIn || ListensBeyondLoopback || HasRealSpark);

    /// <summary><c>Gateway:RequireKey</c>, or when unset: whenever the panel listens beyond loopback.</summary>
    public bool GatewayKeyRequired => gateway.CurrentValue.RequireKey ?? ListensBeyondLoopback;

    public static bool IsLoopbackUrl(string url)
    {
        var host = url.Split("://", 2) is [_, var rest] ? rest : url;
        host = host.Split('/')[0];
        host = host.StartsWith('[') ? host[1..host.IndexOf(']', StringComparison.Ordinal)] : host.Split(':')[0];
        return AllowedHosts.IsLoopback(host);
    }
}
