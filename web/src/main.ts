// Entry point: theme variables, then the app shell (which imports each panel).
import './theme.css';
import './components/cb-app.ts';
