using System.Collections.Immutable;
using SparkControl.Core.Validation;

namespace SparkControl.Core.Access;

public enum SignInOutcome
{
    SignedIn,
    BadCredentials,
    LockedOut,
    Disabled,
}

public sealed record SignInResult(SignInOutcome Outcome, PanelUser? User, DateTimeOffset? LockedUntil = null);

/// <summary>Why a user change was refused, in words for the form and the API (409).</summary>
public sealed class AccessRefusedException(string message) : Exception(message);

/// <summary>
/// The panel's users: kept in memory (every request reads it) and written through to the store. Sign-in locks a user
/// out for <see cref="LockoutDuration"/> after <see cref="LockoutAttempts"/> failures in a row.
/// </summary>
public sealed class UserDirectory
{
    public const int LockoutAttempts = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    private readonly AccessStore _store;
    private readonly IPasswordHashing _hashing;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly string _dummyHash;
    private ImmutableDictionary<string, PanelUser> _users;

    public UserDirectory(AccessStore store, IPasswordHashing hashing, TimeProvider time)
    {
        _store = store;
        _hashing = hashing;
        _time = time;
        _users = store.LoadUsers().ToImmutableDictionary(u => u.Name, StringComparer.Ordinal);
        // Checked against for unknown names, so a wrong name costs as long as a wrong password.
        _dummyHash = hashing.Hash(Guid.NewGuid().ToString("N"));
    }

    /// <summary>Raised after any change to a user (role, disabled, password): open sessions re-check themselves.</summary>
    public event Action<string>? Changed;

    public bool Any => !_users.IsEmpty;

    public IReadOnlyList<PanelUser> List() => [.. _users.Values.OrderBy(u => u.Name, StringComparer.Ordinal)];

    public PanelUser? Find(string name) => _users.GetValueOrDefault(name);

    /// <summary>Every field error of a new user, at once.</summary>
    public static List<FieldError> ValidateNew(string? name, string? password, string? role)
    {
        var errors = new List<FieldError>();
        if (Validators.Name(name, "name") is { } nameError)
        {
            errors.Add(new FieldError("name", nameError));
        }

        if (PasswordRules.Validate(password) is { } passwordError)
        {
            errors.Add(new FieldError("password", passwordError));
        }

        if (AccessRoles.Validate(role) is { } roleError)
        {
            errors.Add(new FieldError("role", roleError));
        }

        return errors;
    }

    /// <param name="signedIn">The user signs in as they are made (the first run's admin).</param>
    public PanelUser Create(string name, string password, AccessRole role, bool signedIn = false)
    {
        if (ValidateNew(name, password, role.Name()) is { Count: > 0 } errors)
        {
            throw new ValidationFailedException(errors);
        }

        lock (_gate)
        {
            if (_users.ContainsKey(name))
            {
                throw new AccessRefusedException($"A user named '{name}' exists already.");
            }

            var now = _time.GetUtcNow();
            var user = new PanelUser(name, role, Disabled: false, now) { PasswordHash = _hashing.Hash(password), LastSignInAt = signedIn ? now : null };
            Save(user);
            return user;
        }
    }

    public SignInResult SignIn(string? name, string? password)
    {
        var user = name is null ? null : Find(name);
        if (user is null || string.IsNullOrEmpty(password))
        {
            _hashing.Verify(_dummyHash, password ?? string.Empty, out _);
            return new SignInResult(SignInOutcome.BadCredentials, null);
        }

        var now = _time.GetUtcNow();
        if (user.LockedUntil is { } until && until > now)
        {
            return new SignInResult(SignInOutcome.LockedOut, user, until);
        }

        var matches = _hashing.Verify(user.PasswordHash, password, out var rehash);
        lock (_gate)
        {
            user = Find(user.Name)!;
            if (!matches)
            {
                var failed = user.FailedAttempts + 1;
                var locked = failed >= LockoutAttempts ? now + LockoutDuration : (DateTimeOffset?)null;
                Keep(user with { FailedAttempts = locked is null ? failed : 0, LockedUntil = locked });
                return locked is null ? new SignInResult(SignInOutcome.BadCredentials, null) : new SignInResult(SignInOutcome.LockedOut, user, locked);
            }

            if (user.Disabled)
            {
                return new SignInResult(SignInOutcome.Disabled, user);
            }

            user = user with { FailedAttempts = 0, LockedUntil = null, LastSignInAt = now, PasswordHash = rehash ? _hashing.Hash(password) : user.PasswordHash };
            Keep(user);
            return new SignInResult(SignInOutcome.SignedIn, user);
        }
    }

    public PanelUser Update(string name, AccessRole? role = null, bool? disabled = null, string? password = null)
    {
        if (password is not null && PasswordRules.Validate(password) is { } passwordError)
        {
            throw new ValidationFailedException([new FieldError("password", passwordError)]);
        }

        lock (_gate)
        {
            var user = Find(name) ?? throw new KeyNotFoundException($"No user is named '{name}'.");
            var changed = user with
            {
                Role = role ?? user.Role,
                Disabled = disabled ?? user.Disabled,
                PasswordHash = password is null ? user.PasswordHash : _hashing.Hash(password),
                // A reset password also lifts a lockout.
                FailedAttempts = password is null ? user.FailedAttempts : 0,
                LockedUntil = password is null ? user.LockedUntil : null,
            };
            var admins = _users.Values.Count(u => u.Role == AccessRole.Admin && !u.Disabled);
            if (user.Role == AccessRole.Admin && !user.Disabled && (changed.Role != AccessRole.Admin || changed.Disabled) && admins == 1)
            {
                throw new AccessRefusedException($"{name} is the last admin who can sign in: make another user admin first.");
            }

            Save(changed);
            return changed;
        }
    }

    /// <summary>Sign-in bookkeeping (failures, lockout, last sign-in): held in memory even when the store cannot take it, so a read-only disk does not lift a lockout.</summary>
    private void Keep(PanelUser user)
    {
        _store.SaveUser(user);
        _users = _users.SetItem(user.Name, user);
    }

    private void Save(PanelUser user)
    {
        if (!_store.SaveUser(user))
        {
            throw new AccessRefusedException($"The user list cannot be saved: {_store.UnavailableReason ?? "the data directory cannot be written"}.");
        }

        _users = _users.SetItem(user.Name, user);
        Changed?.Invoke(user.Name);
    }
}
