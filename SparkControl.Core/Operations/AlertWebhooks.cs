using SparkControl.Core.Secrets;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Operations;

/// <summary>
/// Adds, changes and removes alert webhooks: the settings in <c>alerts.yaml</c> and the address as a secret, both
/// validated before either is written, for the Settings page and the API alike.
/// </summary>
public sealed class AlertWebhooks(AlertSettingsStore store, SecretStore secrets, AlertDelivery delivery, TimeProvider time)
{
    public IReadOnlyList<AlertTarget> List() => store.Current.Targets;

    /// <summary>
    /// Where the webhook's address points: scheme, host and port, never the rest (a user name and password, a path or a
    /// query may hold its token).
    /// </summary>
    public string? AddressHost(string name) =>
        secrets.Reveal(AlertTarget.SecretName(name)) is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? uri.GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped)
            : null;

    public async Task<AlertTarget> AddAsync(AlertTarget target, string? url, CancellationToken cancellationToken)
    {
        Check(target, url, urlRequired: true);
        if (store.Find(target.Name) is not null)
        {
            throw new Storage.SettingsConflictException($"A webhook named {target.Name} exists already. Choose another name, or edit that one.");
        }

        await secrets.SetAsync(AlertTarget.SecretName(target.Name), url!, cancellationToken).ConfigureAwait(false);
        return await store.AddAsync(target, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Changes a webhook's settings; its address too when <paramref name="url"/> is given.</summary>
    public async Task<AlertTarget> UpdateAsync(string name, AlertTarget target, string? url, CancellationToken cancellationToken)
    {
        Check(target with { Name = name }, url, urlRequired: false);
        _ = store.Find(name) ?? throw new KeyNotFoundException($"No webhook is named '{name}'.");
        var saved = await store.UpdateAsync(name, target with { Name = name }, cancellationToken).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(url))
        {
            await secrets.SetAsync(AlertTarget.SecretName(name), url, cancellationToken).ConfigureAwait(false);
        }

        return saved;
    }

    public async Task RemoveAsync(string name, CancellationToken cancellationToken)
    {
        _ = store.Find(name) ?? throw new KeyNotFoundException($"No webhook is named '{name}'.");
        await store.RemoveAsync(name, cancellationToken).ConfigureAwait(false);
        await secrets.RemoveAsync(AlertTarget.SecretName(name), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Sends a test alert now and says how it went (the same delivery and retries as a real one).</summary>
    public Task<AlertDeliveryRecord> TestAsync(string name, CancellationToken cancellationToken)
    {
        var target = store.Find(name) ?? throw new KeyNotFoundException($"No webhook is named '{name}'.");
        var alert = new Alert(AlertKind.ServiceDown, "test", true, "-", "Test alert from Spark Control", $"A test of the webhook {name}: alerts reach you here.", time.GetUtcNow());
        return delivery.SendAsync(target, alert, cancellationToken);
    }

    private static void Check(AlertTarget target, string? url, bool urlRequired)
    {
        var errors = AlertNames.Validate(target).ToList();
        if ((urlRequired || !string.IsNullOrEmpty(url)) && Validators.WebhookUrl(url) is { } bad)
        {
            errors.Add(new FieldError("url", bad));
        }

        if (errors.Count > 0)
        {
            throw new ValidationFailedException(errors);
        }
    }
}
