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

    /// <summary>True once the panel listens on anything but loopback (read from the server's own addresses, once known).</summary>
    public bool ListensBeyondLoopback => _beyondLoopback ?? ReadListenAddresses();

    public bool HasRealSpark => fleet.Current.Sparks.Any(s => !s.IsSimulated);

    public bool SignInRequired => !security.CurrentValue.AllowAnonymous && (security.CurrentValue.RequireSignIn || ListensBeyondLoopback || HasRealSpark);

    /// <summary><c>Gateway:RequireKey</c>, or when unset: whenever the panel listens beyond loopback.</summary>
    public bool GatewayKeyRequired => gateway.CurrentValue.RequireKey ?? ListensBeyondLoopback;

    private bool ReadListenAddresses()
    {
        if (server.Features.Get<IServerAddressesFeature>()?.Addresses is not { Count: > 0 } addresses)
        {
            // Not listening yet: nothing to remember.
            return false;
        }

        _beyondLoopback = addresses.Any(a => !AllowedHosts.IsLoopback(AllowedHosts.HostOf(a)));
        return _beyondLoopback.Value;
    }
}
