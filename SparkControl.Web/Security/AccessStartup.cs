using Microsoft.Extensions.Options;
using SparkControl.Core.Access;

namespace SparkControl.Web.Security;

/// <summary>The one way the panel refuses to start for access's sake: reachable from the network with no way to sign in.</summary>
public static class AccessStartup
{
    /// <summary>
    /// Why the panel must not start, or null: it is configured to listen beyond loopback, the trusted lab's switch is off,
    /// and no user exists nor can one be made (the data directory cannot keep them), so nobody could ever sign in.
    /// </summary>
    public static string? Refusal(IServiceProvider services, IConfiguration configuration)
    {
        if (services.GetRequiredService<IOptions<SecurityOptions>>().Value.AllowAnonymous)
        {
            return null;
        }

        var exposed = AllowedHosts.ListenAddresses(configuration).FirstOrDefault(a => !AllowedHosts.IsLoopback(a));
        var store = services.GetRequiredService<AccessStore>();
        if (exposed is null || store.IsAvailable || services.GetRequiredService<UserDirectory>().Any)
        {
            return null;
        }

        return $"it would listen on {exposed} but cannot keep users, so nobody could sign in ({store.UnavailableReason}). " +
               "Make the data directory writable (the first visitor then creates the admin with the setup token), " +
               "listen on 127.0.0.1, or set Security:AllowAnonymous=true for a trusted lab where everyone acts as admin.";
    }
}
