// The playground's sign-in bar: one token for every tab, every page and every browser tab
// of this origin (kept by session.js), with who it signs in as.
import { useEffect, useState, useSyncExternalStore } from 'react';

import { clearToken, normalizeToken, onTokenChange, savedToken, saveToken, whoAmI } from './session.js';

const subscribe = (changed) => onTokenChange(() => changed());

// The signed-in token ('' when signed out), re-rendering on every change, from this page or
// another browser tab.
export function useToken() {
  return useSyncExternalStore(subscribe, savedToken);
}

// The server answered and refused the token (not a network failure nor a proxy's page).
const refusal = (error) => !(error instanceof TypeError) && !/^HTTP \d+/.test(error?.message ?? '');

export function SignInBar() {
  const token = useToken();
  const [viewer, setViewer] = useState(null);
  const [problem, setProblem] = useState('');
  const [checking, setChecking] = useState(false);
  const [text, setText] = useState('');

  // Who the kept token signs in as; one the server no longer accepts is let go.
  useEffect(() => {
    let current = true;
    setViewer(null);
    if (!token) return undefined;
    whoAmI(token)
      .then((who) => {
        if (!current) return;
        if (who) {
          setViewer(who);
          return;
        }
        setProblem('The server did not accept the saved token: you are signed out.');
        clearToken();
      })
      .catch((error) => {
        if (!current) return;
        if (refusal(error)) {
          setProblem(`The saved token was refused (${error.message}): you are signed out.`);
          clearToken();
        } else {
          setProblem(`Could not check the token: ${error.message}`);
        }
      });
    return () => {
      current = false;
    };
  }, [token]);

  const signIn = async (event) => {
    event.preventDefault();
    const candidate = normalizeToken(text);
    if (!candidate) {
      setProblem('Paste a token first.');
      return;
    }
    if (!/^[\x21-\x7e]+$/.test(candidate)) {
      setProblem('Token refused: a token is printable ASCII with no spaces; check what was pasted.');
      return;
    }
    setChecking(true);
    setProblem('');
    try {
      const who = await whoAmI(candidate);
      if (!who) throw new Error('the server does not know this token');
      setText('');
      saveToken(candidate);
    } catch (error) {
      setProblem(`Token refused: ${error.message}`);
    } finally {
      setChecking(false);
    }
  };

  const signOut = () => {
    setProblem('');
    clearToken();
  };

  if (token) {
    return (
      <div className="ig-signin" data-state={viewer ? 'signed-in' : 'checking'}>
        <span className="ig-signin-status" role="status">
          {viewer ? (
            <>
              Signed in as <strong>{viewer.username}</strong>
              {viewer.name ? ` (${viewer.name})` : ''}: every tab sends this token.
            </>
          ) : (
            'Checking the saved token…'
          )}
        </span>
        <button type="button" className="ig-button ig-button-quiet" onClick={signOut}>
          Sign out
        </button>
        {problem ? <span className="ig-error">{problem}</span> : null}
      </div>
    );
  }
  return (
    <form className="ig-signin" data-state="signed-out" onSubmit={signIn}>
      <span className="ig-signin-status" role="status">
        Not signed in: queries see public projects only, mutations need a token.
      </span>
      <input
        name="token"
        type="password"
        autoComplete="off"
        spellCheck="false"
        aria-label="token"
        placeholder="paste a token"
        value={text}
        onChange={(event) => setText(event.target.value)}
      />
      <button type="submit" className="ig-button" disabled={checking}>
        Sign in
      </button>
      <span className="ig-signin-help">
        Make one with <code>.venv/bin/issuegraph tokens create alice</code>, or use the demo token{' '}
        <code>make serve</code> prints.
      </span>
      {problem ? (
        <span className="ig-error" role="alert">
          {problem}
        </span>
      ) : null}
    </form>
  );
}
